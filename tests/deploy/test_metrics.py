"""/metrics under gunicorn as production runs it: several worker processes, each counting
in its own files, and every scrape (whichever worker takes it) tells the totals; a worker
that dies keeps its counts; a new start of the service starts counting afresh."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import service_env
from tests.helpers import ROOT, migrated_gunicorn, wait_until
from tests.reliability.test_races import fire

CHARGES = 12
PAID = {"provider": "click", "operation": "purchase", "status": "paid"}


def paid_count(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "payments_operations_total" and sample.labels == PAID:
                return sample.value
    return 0.0


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def left_by_an_earlier_run(directory: Path) -> None:
    """Counts a previous run of the service wrote before it stopped."""
    script = (
        "import django\ndjango.setup()\n"
        "from payments.metrics import count_operation\n"
        "for _ in range(1000): count_operation('click', 'purchase', 'paid')\n"
    )
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    assert list(directory.glob("counter_*.db"))


@pytest.fixture
def service(tmp_path, click, click_server) -> Iterator[tuple[str, int]]:
    counts = tmp_path / "multiproc"
    counts.mkdir()
    left_by_an_earlier_run(counts)
    env = service_env(
        f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        click_server,
        METRICS_WORKERS_DIR=str(counts),
    )
    with migrated_gunicorn(env, "--workers", "2", "--threads", "4") as (base, master):
        yield base, master.pid


def test_every_scrape_adds_up_all_workers_and_a_dead_workers_counts_stay(service) -> None:
    base, master = service
    assert paid_count(base) == 0  # the earlier run's 1000 are not this run's
    bodies = [{"amount": 500, "qr_code": f"77009{i:05d}"} for i in range(CHARGES)]
    answers = fire(f"{base}/payment/click", bodies)
    assert all(answer["is_success"] for answer in answers), answers
    # Whichever worker takes the scrape, it tells the total.
    assert {paid_count(base) for _ in range(8)} == {CHARGES}

    # A worker killed outright: the arbiter starts another, and the counts stay.
    first, _ = workers_of(master)
    os.kill(first, signal.SIGKILL)
    wait_until(
        lambda: first not in workers_of(master) and len(workers_of(master)) == 2, 20, "a new worker"
    )
    assert {paid_count(base) for _ in range(8)} == {CHARGES}
