"""/health/live and /health/ready: for a load balancer, without a key, in the envelope."""

import pytest
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.test import APIClient

from payments.services import registers

pytestmark = pytest.mark.django_db

PROBE = APIClient(REMOTE_ADDR="203.0.113.50")  # no key, no bound network: a load balancer


def test_live_answers_without_a_key() -> None:
    response = PROBE.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"data": {"status": "live"}, "error": None, "is_success": True}


SCRAPER = APIClient(REMOTE_ADDR="127.0.0.1")  # inside METRICS_NETWORKS: admitted


def test_ready_says_only_ready_to_a_stranger(shop, pinpad) -> None:
    response = PROBE.get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {"status": "ready"}


def test_ready_shows_its_checks_to_whom_metrics_admits(shop, pinpad, settings) -> None:
    response = SCRAPER.get("/health/ready")
    assert response.json()["data"] == {"status": "ready", "database": "ok", "migrations": "ok"}
    settings.METRICS_TOKEN = "scrape-token-1"
    with_token = PROBE.get("/health/ready", HTTP_AUTHORIZATION="Bearer scrape-token-1")
    assert with_token.json()["data"]["migrations"] == "ok"
    wrong = PROBE.get("/health/ready", HTTP_AUTHORIZATION="Bearer not-it")
    assert wrong.json()["data"] == {"status": "ready"}


def test_ready_while_one_registers_pin_pad_is_unplugged_or_its_secret_unset(shop, tmp_path) -> None:
    """One till's cable or one account's secret is that register's problem: a load balancer
    following the probe must not take every instance out for it, and a stranger learns no
    register, account, variable or device path."""
    registers.put_account("humo", "test PIN pad", {"url": str(tmp_path / "gone")})
    shop.accounts.filter(provider="click").update(
        settings={"service_id": "40777", "merchant_user_id": "1", "secret_key": "PROVIDER_SECRET_X"}
    )
    response = PROBE.get("/health/ready")
    assert response.status_code == 200
    text = response.content.decode()
    for secret_word in ("PIN pad", "gone", "PROVIDER_SECRET_X", "Register 1", "CLICK"):
        assert secret_word not in text


def test_not_ready_with_a_migration_not_applied(shop) -> None:
    latest = MigrationRecorder.Migration.objects.filter(app="payments").order_by("-id").first()
    latest.delete()  # as if the code were newer than the database
    response = PROBE.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "NOT_READY"
    assert response.json()["error"]["data"] is None  # the details are not a stranger's
    shown = SCRAPER.get("/health/ready")
    assert shown.json()["error"]["data"]["migrations"] == "1 not applied"
