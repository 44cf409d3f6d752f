"""Races against the running service: gunicorn (2 processes × 8 threads) on PostgreSQL,
the emulators in this process, 50 register requests fired at the same moment.

On SQLite these cannot run: the service's processes cannot open pytest's in-memory test
database, and on one SQLite file every writer queues on the file lock, so the races proven
here do not arise there. They are skipped with that reason.
"""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from payments.models import Payment
from tests.conftest import FAST_LINK, service_env
from tests.helpers import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)
AT_ONCE = 50


@pytest.fixture
def service(
    click, payme, uzum, click_server, payme_server, uzum_server, pinpad, settings
) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("the service's processes cannot share pytest's SQLite test database")
    db = connection.settings_dict
    env = service_env(
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        click_server,
        payme_server,
        uzum_server,
        CLICK_PAYMENT_READ_TIMEOUT="10",
        PAYME_PAY_READ_TIMEOUT="10",
        UZUM_PAYMENT_READ_TIMEOUT="10",
        PINPAD_URL=settings.PINPAD_URL,
        PINPAD_LOCK_DIR=str(settings.PINPAD_LOCK_DIR),
        PINPAD_ANSWER_WAIT="5",
        **{f"PINPAD_{k.upper()}": str(v) for k, v in FAST_LINK.items()},
    )
    with gunicorn(env, "--worker-class", "gthread", "--workers", "2", "--threads", "8") as (
        base,
        _,
    ):
        yield base


def fire(url: str, bodies: list[dict], headers: dict | None = None) -> list[dict]:
    """POST every body at the same moment, from as many threads."""
    start = threading.Barrier(len(bodies))

    def one(body: dict) -> dict:
        start.wait()
        return requests.post(url, json=body, headers=headers or {}, timeout=60).json()

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def agree(answers: list[dict]) -> set[str]:
    """The transaction ids the answers speak of; successes and 110s only."""
    ids = set()
    for answer in answers:
        if answer["is_success"]:
            ids.add(answer["data"]["transaction_id"])
        else:
            assert answer["error"]["code"] == 110, answer
            ids.add(answer["error"]["data"]["transaction_id"])
    return ids


# A code of each provider that is answered after 0.5 s, so the others arrive meanwhile.
SLOW_CODES = {
    "click": "990305000777",
    "payme": "980305000777",
    "uzum": "991405:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X",
}


@pytest.mark.parametrize("provider", list(SLOW_CODES))
def test_the_same_code_50_times_at_once_is_one_charge(
    service, click, payme, uzum, provider
) -> None:
    code = SLOW_CODES[provider]
    answers = fire(f"{service}/payment/{provider}", [{"amount": 500, "qr_code": code}] * AT_ONCE)
    emulator = {"click": click, "payme": payme, "uzum": uzum}[provider]
    assert emulator.stats()["charges_by_code"] == {code: 1}
    assert len(agree(answers)) == 1
    assert any(a["is_success"] for a in answers)
    assert Payment.objects.count() == 1


def test_one_idempotency_key_50_times_at_once_is_one_charge(service, click) -> None:
    body = {"amount": 500, "qr_code": "990305000888"}
    answers = fire(f"{service}/payment/click", [body] * AT_ONCE, {"Idempotency-Key": "race-1"})
    assert click.stats()["charges_by_code"] == {"990305000888": 1}
    ids = {a["data"]["transaction_id"] for a in answers if a["is_success"]}
    assert len(ids) == 1
    # Those that came while the first ran heard 110; none heard anything else.
    assert {a["error"]["code"] for a in answers if not a["is_success"]} <= {110}


def test_50_different_codes_at_once_do_not_queue_behind_one_lock(
    service, click, click_server
) -> None:
    click_server.peak_in_flight = 0
    bodies = [{"amount": 500, "qr_code": f"9903050{i:05d}"} for i in range(AT_ONCE)]
    answers = fire(f"{service}/payment/click", bodies)
    assert all(a["is_success"] for a in answers), [a for a in answers if not a["is_success"]]
    assert click.stats()["charges"] == AT_ONCE
    # Served side by side by the service's 16 threads, not one after another.
    assert click_server.peak_in_flight >= 8


def test_two_humo_purchases_at_once_take_turns_on_the_line(service, pinpad) -> None:
    pinpad.slow_seconds = 0.5
    answers = fire(f"{service}/payment/xumo", [{"amount": 50901}, {"amount": 50901}])
    assert [a["is_success"] for a in answers] == [True, True]
    assert len({a["data"]["ppt_id"] for a in answers}) == 2
    assert len(pinpad.requests) == 2
    assert pinpad.link_errors == []  # interleaved bytes would have broken a frame
