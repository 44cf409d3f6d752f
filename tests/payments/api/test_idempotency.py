"""Idempotency-Key (cash-register-api.md §5)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import IdempotencyKey, Payment, ProviderExchange
from payments.services import idempotency
from payments.store import change_payment

pytestmark = pytest.mark.django_db

SEED = {"amount": 500, "qr_code": "880101698207133392"}


def post(api, path: str, body: dict | str, key: str | None) -> tuple[int, bytes]:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    raw = body if isinstance(body, str) else json.dumps(body)
    response = api.generic("POST", path, raw, content_type="application/json", **headers)
    return response.status_code, response.content


def test_a_replay_returns_the_first_answer_unchanged_without_a_second_call(api, click) -> None:
    first = post(api, "/payment/click", SEED, "k-1")
    calls = ProviderExchange.objects.count()
    # The same body written differently, and the other slash form: the same request.
    again = post(
        api, "/payment/click/", '{ "qr_code": "880101698207133392", "amount": 500 }', "k-1"
    )
    assert again == first
    assert json.loads(first[1])["is_success"] is True
    assert ProviderExchange.objects.count() == calls
    assert click.stats()["charge_requests"] == 1
    row = IdempotencyKey.objects.get()
    assert str(row.transaction_id) == json.loads(first[1])["data"]["transaction_id"]


def test_the_same_key_with_another_body_is_106(api, click) -> None:
    post(api, "/payment/click", SEED, "k-2")
    status, body = post(api, "/payment/click", {**SEED, "amount": 600}, "k-2")
    assert json.loads(body)["error"] == {
        "code": 106,
        "message": "PAYMENT_ERROR",
        "data": {"reason": "idempotency_key_reused"},
    }
    assert click.stats()["charges"] == 1


def test_the_same_key_on_another_endpoint_is_106(api, click, payme) -> None:
    post(api, "/payment/click", SEED, "k-3")
    _, body = post(api, "/payment/payme", SEED, "k-3")
    assert json.loads(body)["error"]["code"] == 106
    assert payme.stats()["receipts"] == 0


def test_a_replay_while_the_first_runs_is_110_not_a_second_charge(api, shop, click) -> None:
    # The first request has claimed the key and is still at the provider.
    request_hash = idempotency.fingerprint("POST", "/payment/click", SEED)
    idempotency.claim(shop, "k-4", request_hash)
    _, body = post(api, "/payment/click", SEED, "k-4")
    assert json.loads(body)["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": None},
    }
    assert click.stats()["requests"] == []
    assert not Payment.objects.exists()


def test_a_replay_after_reconcile_gets_the_settled_answer(api, click) -> None:
    _, first = post(api, "/payment/click", {**SEED, "qr_code": "9907123456"}, "k-10")
    # 9907: CLICK charged, the answer was lost, the status lookup found it: already paid.
    assert json.loads(first)["is_success"] is True
    _, first = post(api, "/payment/click", {**SEED, "qr_code": "9904123456"}, "k-11")
    transaction_id = json.loads(first)["error"]["data"]["transaction_id"]
    payment = Payment.objects.get(transaction_id=transaction_id)
    change_payment(payment, status="failed", reason="reconcile: CLICK has no such payment")
    calls = ProviderExchange.objects.count()
    _, again = post(api, "/payment/click", {**SEED, "qr_code": "9904123456"}, "k-11")
    assert json.loads(again)["error"]["code"] == 104  # the settled outcome, not 110
    assert ProviderExchange.objects.count() == calls  # and nothing was sent again
    # Now final, it is kept: the next replay is the same bytes.
    assert post(api, "/payment/click", {**SEED, "qr_code": "9904123456"}, "k-11")[1] == again


def test_an_open_outcome_is_not_frozen_a_replay_points_at_the_payment(api, click) -> None:
    _, first = post(api, "/payment/click", {**SEED, "qr_code": "9905123456"}, "k-5")
    transaction_id = json.loads(first)["error"]["data"]["transaction_id"]
    calls = ProviderExchange.objects.count()
    _, again = post(api, "/payment/click", {**SEED, "qr_code": "9905123456"}, "k-5")
    assert json.loads(again)["error"]["data"] == {"transaction_id": transaction_id}
    assert ProviderExchange.objects.count() == calls
    assert IdempotencyKey.objects.get().response_body is None


def test_errors_are_answers_too(api, click) -> None:
    first = post(api, "/payment/click", {**SEED, "qr_code": "99015017000001"}, "k-6")
    assert json.loads(first[1])["error"]["code"] == 104
    assert post(api, "/payment/click", {**SEED, "qr_code": "99015017000001"}, "k-6") == first
    assert click.stats()["requests"] == ["POST click_pass/payment"]


def test_a_humo_purchase_replayed_is_not_a_second_purchase(api, pinpad) -> None:
    first = post(api, "/payment/xumo", {"amount": 50000}, "k-7")
    assert post(api, "/payment/xumo", {"amount": 50000}, "k-7") == first
    assert len(pinpad.requests) == 1
    # Without a key, the same body is a new purchase: that is what a register asks for.
    post(api, "/payment/xumo", {"amount": 50000}, None)
    assert len(pinpad.requests) == 2


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_a_bad_key_is_code_7(api, click, key: str) -> None:
    _, body = post(api, "/payment/click", SEED, key)
    answer = json.loads(body)
    assert answer["error"]["code"] == 7
    assert json.loads(answer["error"]["message"]) == {
        "Idempotency-Key": ["Must be 1 to 255 characters."]
    }
    assert not Payment.objects.exists()


def test_a_255_character_key_is_fine(api, click) -> None:
    _, body = post(api, "/payment/click", SEED, "k" * 255)
    assert json.loads(body)["is_success"] is True


def test_an_expired_key_is_claimed_anew(api, click) -> None:
    post(api, "/payment/click", SEED, "k-8")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _, body = post(api, "/payment/click", {**SEED, "qr_code": "7700112233"}, "k-8")
    assert json.loads(body)["data"]["qr_code"] == "7700112233"
    assert IdempotencyKey.objects.count() == 1


def test_keys_live_24_hours_and_expired_ones_are_purged(api, click) -> None:
    post(api, "/payment/click", SEED, "k-9")
    row = IdempotencyKey.objects.get()
    assert timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=24)
    assert idempotency.purge_expired() == 0
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency.purge_expired(dry_run=True) == 1
    assert idempotency.purge_expired() == 1
    assert not IdempotencyKey.objects.exists()
