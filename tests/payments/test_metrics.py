"""What /metrics counts: operations and exchanges as they happen, the database's open
items at scrape time, and the last run of each scheduled command."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from payments.models import FiscalStatus, PaymentStatus
from payments.store import change_payment
from providers.click.gateway import GATEWAY as CLICK
from tests.factories import data_of, make_payment
from tests.helpers import ROOT, post_json

pytestmark = pytest.mark.django_db

SCRAPER = APIClient(REMOTE_ADDR="127.0.0.1")


def scrape() -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    response = SCRAPER.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def charge(api, code: str, capture) -> dict:
    with capture(execute=True):  # the exchanges are timed once their journal rows commit
        return post_json(api, "/payment/click", {"amount": 500, "qr_code": code})


def test_each_charge_is_counted_by_how_it_ended(api, click, django_capture_on_commit_callbacks):
    before = scrape()
    assert charge(api, "7700112233", django_capture_on_commit_callbacks)["is_success"] is True
    declined = charge(api, "9901123456", django_capture_on_commit_callbacks)
    assert declined["error"]["code"] == 104
    lost = charge(api, "9904123456", django_capture_on_commit_callbacks)
    assert lost["error"]["code"] == 110
    after = scrape()

    def counted(status: str) -> float:
        labels = {"provider": "click", "operation": "purchase", "status": status}
        name = "payments_operations_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert (counted("paid"), counted("failed"), counted("unknown")) == (1, 1, 1)


def test_every_exchange_is_timed_by_its_result(api, click, django_capture_on_commit_callbacks):
    name = "payments_provider_exchange_seconds_count"
    sent = {"provider": "click", "operation": "click_pass/payment"}
    before = scrape()
    charge(api, "7700112244", django_capture_on_commit_callbacks)
    charge(api, "9905123456", django_capture_on_commit_callbacks)  # CLICK answers HTTP 500
    charge(api, "9904123456", django_capture_on_commit_callbacks)  # no answer in time
    after = scrape()
    for result in ("ok", "error", "no_answer"):
        grew = value(after, name, **sent, result=result) - value(
            before, name, **sent, result=result
        )
        assert grew == 1, result
    slow = value(after, "payments_provider_exchange_seconds_sum", **sent, result="no_answer")
    assert slow >= 0.5  # the unanswered charge waited for its timeout


def test_open_flagged_and_fiscal_backlog_are_read_from_the_database(shop) -> None:
    make_payment(provider="click", status=PaymentStatus.PROCESSING)
    make_payment(provider="click", status=PaymentStatus.UNKNOWN)
    make_payment(provider="payme", status=PaymentStatus.UNKNOWN)
    flagged = make_payment(provider="payme", status=PaymentStatus.FAILED)
    change_payment(flagged, reason="test", needs_attention=True)
    make_payment(provider="click", status=PaymentStatus.PAID)  # waiting for its receipt
    make_payment(
        provider="click",
        status=PaymentStatus.PAID,
        fiscal_status=FiscalStatus.FAILED,
        fiscal_receipt_url="https://ofd.soliq.uz/check?t=1&r=2&c=20250101120000&s=3",
    )
    make_payment(provider="click", status=PaymentStatus.PAID, fiscal_status=FiscalStatus.SUBMITTED)
    samples = scrape()
    assert value(samples, "payments_open", provider="click", status="processing") == 1
    assert value(samples, "payments_open", provider="click", status="unknown") == 1
    assert value(samples, "payments_open", provider="payme", status="unknown") == 1
    assert value(samples, "payments_needing_attention", provider="payme") == 1
    assert value(samples, "payments_needing_attention", provider="click") == 0
    backlog = "payments_fiscal_backlog"
    assert value(samples, backlog, provider="click", fiscal_status="pending") == 1
    assert value(samples, backlog, provider="click", fiscal_status="failed") == 1
    assert value(samples, backlog, provider="click", fiscal_status="submitted") == 0


def test_reconcile_leaves_its_last_run_for_the_scrape(click, settings, tmp_path) -> None:
    settings.METRICS_JOBS_DIR = str(tmp_path / "jobs")
    paid = make_payment(provider="click", qr_code="7700112255", status="processing")
    CLICK.charge(data_of(paid))  # CLICK took it; our record never heard
    make_payment(provider="click", qr_code="7700112266")  # made, never sent
    call_command("reconcile", "--min-age", "0", stdout=StringIO(), stderr=StringIO())
    samples = scrape()
    job = {"job": "reconcile"}
    assert value(samples, "payments_job_last_run_exit_code", **job) == 0
    assert value(samples, "payments_job_last_run_timestamp_seconds", **job) > 0
    changes = "payments_job_last_run_changes"
    assert value(samples, changes, **job, provider="click", was="processing", now="paid") == 1
    assert value(samples, changes, **job, provider="click", was="created", now="failed") == 1


def test_a_run_that_leaves_payments_for_a_person_says_so_with_its_exit_code(
    api, click, settings, tmp_path
) -> None:
    settings.METRICS_JOBS_DIR = str(tmp_path / "jobs")
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})  # unknown
    with pytest.raises(CommandError) as raised:
        call_command("reconcile", "--min-age", "0", stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 2  # CLICK does not know it: a person must look
    samples = scrape()
    assert value(samples, "payments_job_last_run_exit_code", job="reconcile") == 2
    assert value(samples, "payments_open", provider="click", status="unknown") == 1
    assert value(samples, "payments_needing_attention", provider="click") == 1


def test_without_a_jobs_directory_nothing_is_written(click, settings, tmp_path) -> None:
    settings.METRICS_JOBS_DIR = ""
    call_command("retry_fiscal", stdout=StringIO(), stderr=StringIO())
    assert not any(name.startswith("payments_job_") for name, _ in scrape())


def test_a_command_run_with_the_deployments_file_leaves_nothing_among_the_workers_files(
    tmp_path,
) -> None:
    """reconcile and retry_fiscal run every few minutes with the service's environment
    file: their counts stay in their own memory, and their last run goes to the jobs
    directory only (files per run among the workers' would pile up until a restart)."""
    workers, jobs = tmp_path / "workers", tmp_path / "jobs"
    workers.mkdir()
    env_file = tmp_path / "production.env"
    env_file.write_text(
        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
        f"METRICS_WORKERS_DIR={workers}\nMETRICS_JOBS_DIR={jobs}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"ENV_FILE": str(env_file)}
    for command in (["migrate", "--noinput"], ["retry_fiscal"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
    assert list(workers.iterdir()) == []
    written = (jobs / "retry_fiscal.prom").read_text()
    assert 'payments_job_last_run_exit_code{job="retry_fiscal"} 0.0' in written
