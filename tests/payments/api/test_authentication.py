"""Who may call: a register by its key, or by the network it is bound to. Anyone else is
111 / HTTP 401 in the envelope on every register endpoint, and nothing is charged or read."""

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from payments.models import Payment
from payments.services.registers import add_register, issue_key, revoke_key
from tests.helpers import SEED_URL, post_json

pytestmark = pytest.mark.django_db


def unauthorized(reason: str) -> dict:
    return {
        "data": None,
        "error": {"code": 111, "message": "UNAUTHORIZED", "data": {"reason": reason}},
        "is_success": False,
    }


# Every register endpoint, with a request that would act if it were let through.
ENDPOINTS = [
    ("post", "/payment/click", {"amount": 500, "qr_code": "7700112233"}),
    ("post", "/payment/click_confirm", {"payment_id": "1", "qrcode": SEED_URL}),
    ("post", "/payment/payme", {"amount": 500, "qr_code": "7700112233"}),
    ("post", "/payment/payme_confirm", {"payme_id": "1", "qr_code_url": SEED_URL}),
    ("post", "/payment/xumo", {"amount": 50000}),
    ("post", "/payment/xumo", {"amount": 50000, "request_id": "1", "is_return": True}),
    ("get", "/payment/xumo_close", None),
    ("get", "/payment/status/00000000-0000-0000-0000-000000000000", None),
]


def call(client: APIClient, method: str, path: str, body: dict | None, **extra):
    if method == "post":
        return client.post(path, body, format="json", **extra)
    return client.get(path, **extra)


def assert_refused(response, reason: str) -> None:
    """Refused with 111 in the envelope, saying why by the reason's name only."""
    assert response.status_code == 401
    assert response.json() == unauthorized(reason)
    assert response["WWW-Authenticate"] == 'Bearer realm="registers"'


@pytest.fixture
def stranger() -> APIClient:
    """A caller from an address no register is bound to."""
    return APIClient(REMOTE_ADDR="203.0.113.9")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_no_key_and_no_bound_network_is_111(
    shop, stranger, click, payme, pinpad, method, path, body
) -> None:
    assert_refused(call(stranger, method, path, body), "network_not_allowed")
    assert not Payment.objects.exists()
    assert click.stats()["requests"] == []
    assert payme.stats()["requests"] == []
    assert pinpad.requests == []


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_an_unknown_key_is_111_even_from_a_bound_network(
    shop, click, pinpad, method, path, body
) -> None:
    local = APIClient(REMOTE_ADDR="127.0.0.1")  # the shop register's network
    local.credentials(HTTP_AUTHORIZATION="Bearer rk_not-a-key-of-anyone")
    assert_refused(call(local, method, path, body), "unknown_or_revoked_key")
    assert not Payment.objects.exists()
    assert pinpad.requests == []


def test_a_revoked_key_is_refused_at_once(shop, stranger, click) -> None:
    row, key = issue_key(shop)
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"amount": 500, "qr_code": "7700112233"}
    assert stranger.post("/payment/click", body, format="json").json()["is_success"]
    revoke_key(row)
    assert_refused(
        stranger.get("/payment/status/00000000-0000-0000-0000-000000000000"),
        "unknown_or_revoked_key",
    )


def test_keys_rotate_several_active_at_once(shop, stranger, click) -> None:
    old_row, old = issue_key(shop, label="old")
    _, new = issue_key(shop, label="new")
    for key in (old, new):
        stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert stranger.get("/payment/status/x").json()["error"]["code"] == 106
    revoke_key(old_row)
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {old}")
    assert_refused(stranger.get("/payment/status/x"), "unknown_or_revoked_key")
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {new}")
    assert stranger.get("/payment/status/x").json()["error"]["code"] == 106


def test_the_last_use_of_a_key_is_recorded(shop, stranger) -> None:
    row, key = issue_key(shop)
    assert row.last_used_at is None
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    stranger.get("/payment/status/x")
    row.refresh_from_db()
    assert row.last_used_at is not None


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc", "Bearer  "])
def test_an_authorization_that_is_not_a_bearer_key_is_111(shop, header) -> None:
    local = APIClient(REMOTE_ADDR="127.0.0.1")
    local.credentials(HTTP_AUTHORIZATION=header)
    assert_refused(local.get("/payment/status/x"), "no_key")


def test_a_bound_network_needs_no_key(shop) -> None:
    local = APIClient(REMOTE_ADDR="127.0.0.1")
    assert local.get("/payment/status/x").json()["error"]["code"] == 106


def test_a_browser_on_a_bound_network_is_refused_without_a_key(shop, pinpad) -> None:
    """A web page on the shop's LAN cannot close the shift with an image tag."""
    browser = APIClient(REMOTE_ADDR="127.0.0.1")
    assert_refused(browser.get("/payment/xumo_close", HTTP_SEC_FETCH_SITE="cross-site"), "no_key")
    assert_refused(browser.get("/payment/xumo_close", HTTP_ORIGIN="https://evil.example"), "no_key")
    assert pinpad.requests == []


def test_an_inactive_register_is_refused_by_key_and_by_network(shop) -> None:
    _, key = issue_key(shop)
    shop.active = False
    shop.save()
    local = APIClient(REMOTE_ADDR="127.0.0.1")
    assert_refused(local.get("/payment/status/x"), "network_not_allowed")
    local.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert_refused(local.get("/payment/status/x"), "register_inactive")


def test_the_narrowest_bound_network_wins(shop) -> None:
    till = add_register(name="Till 7", inn="1", kkm_id="K7", networks="127.0.0.7/32")
    mine = APIClient(REMOTE_ADDR="127.0.0.7")
    answer = mine.get("/payment/status/x").json()
    assert answer["error"]["code"] == 106  # served: as Till 7, not as the shop's /8
    assert till.pk != shop.pk


def test_two_registers_bound_to_the_same_network_are_refused(shop) -> None:
    add_register(name="Twin", inn="1", kkm_id="K8", networks="127.0.0.0/8")
    assert_refused(
        APIClient(REMOTE_ADDR="127.0.0.1").get("/payment/status/x"), "network_not_allowed"
    )


class TestBehindAProxy:
    def test_the_forwarded_address_counts_only_from_a_trusted_proxy(self, shop, settings) -> None:
        # Without a trusted proxy, a forged header changes nothing: the stranger stays one.
        forged = APIClient(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
        assert_refused(forged.get("/payment/status/x"), "network_not_allowed")
        # Through the trusted proxy, the client's own address is the one judged.
        settings.TRUSTED_PROXIES = ["10.0.0.5/32"]
        proxied = APIClient(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="127.0.0.1")
        assert proxied.get("/payment/status/x").json()["error"]["code"] == 106
        # The proxy appends what it saw: a client's own forged first hop is not believed.
        spoofed = APIClient(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9")
        assert_refused(spoofed.get("/payment/status/x"), "network_not_allowed")

    def test_the_proxy_itself_is_not_a_register_by_its_address(self, shop, settings) -> None:
        settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
        # Forwarded for a stranger by a trusted proxy on loopback: the stranger is judged.
        proxied = APIClient(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert_refused(proxied.get("/payment/status/x"), "network_not_allowed")


def test_the_api_schema_and_unknown_paths_need_no_key(client) -> None:
    assert APIClient(REMOTE_ADDR="203.0.113.9").get("/api/schema/").status_code == 200
    assert APIClient(REMOTE_ADDR="203.0.113.9").get("/nowhere").status_code == 404


# --- the key's lookup checks the kept connection -------------------------------------------


def _next_request_on_the_kept_connection() -> None:
    """What the start of a request does to a connection it keeps (Django's request_started,
    which the test client leaves out): its health is to be checked again."""
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is not None
    assert not connection.health_check_done


@pytest.mark.django_db(transaction=True)
def test_a_keyed_request_needs_no_separate_health_check(api, click, monkeypatch) -> None:
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    assert post_json(api, "/payment/click", {"amount": 500, "qr_code": "7701000001"})["is_success"]
    checks = []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real())
    _next_request_on_the_kept_connection()

    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7701000002"})

    assert body["is_success"] is True
    assert checks == []  # the key's lookup was the check


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_that_died_is_replaced_under_the_keys_lookup(api, click) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("an SQLite connection is a file: it does not die while idle")
    assert post_json(api, "/payment/click", {"amount": 500, "qr_code": "7701000003"})["is_success"]
    _next_request_on_the_kept_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    connection.health_check_done = False  # that SELECT was not the request's
    db = connection.settings_dict
    dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:  # a restart, as this connection sees it
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7701000004"})

    assert body["is_success"] is True
    assert Payment.objects.get(qr_code="7701000004").status == "paid"
