"""The embedded default under a shop's load: gunicorn (2 processes x 8 threads, as make run)
on a SQLite file, 32 registers charging different codes at the same moment. No answer may be
103, every payment ends settled, and every code is charged once."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import service_env
from tests.helpers import migrated_gunicorn
from tests.reliability.test_races import fire

AT_ONCE = 32


@pytest.fixture
def service(tmp_path: Path, click, payme, click_server, payme_server) -> Iterator[tuple[str, Path]]:
    database = tmp_path / "shop.sqlite3"
    env = service_env(f"sqlite:///{database}", click_server, payme_server)
    with migrated_gunicorn(env, "--workers", "2", "--threads", "8") as (base, _):
        yield base, database


def test_32_simultaneous_charges_on_sqlite_answer_and_settle_without_103(
    service, click, payme
) -> None:
    base, database = service
    clicks = [{"amount": 500 + i, "qr_code": f"77001{i:05d}"} for i in range(AT_ONCE // 2)]
    paymes = [{"amount": 600 + i, "qr_code": f"50501{i:05d}"} for i in range(AT_ONCE // 2)]
    answers = fire(f"{base}/payment/click", clicks) + fire(f"{base}/payment/payme", paymes)
    refused = [a for a in answers if not a["is_success"]]
    assert refused == []
    with sqlite3.connect(database) as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM payments_payment GROUP BY status"))
    assert statuses == {"paid": AT_ONCE}
    assert (click.stats()["charges"], click.stats()["charge_requests"]) == (16, 16)
    assert (payme.stats()["charges"], payme.stats()["charge_requests"]) == (16, 16)
