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


def test_ready_when_the_database_is_migrated_and_the_pin_pads_are_there(shop, pinpad) -> None:
    response = PROBE.get("/health/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "equipment": "ok",
    }


def test_not_ready_while_a_registers_pin_pad_is_unplugged(shop, tmp_path) -> None:
    registers.put_account("humo", "test PIN pad", {"url": str(tmp_path / "gone")})
    response = PROBE.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == 103
    assert body["error"]["message"] == "NOT_READY"
    assert body["error"]["data"]["equipment"] == {
        "Register 1: test PIN pad": f"{tmp_path / 'gone'} does not exist"
    }


def test_not_ready_with_a_migration_not_applied(shop) -> None:
    latest = MigrationRecorder.Migration.objects.filter(app="payments").order_by("-id").first()
    latest.delete()  # as if the code were newer than the database
    response = PROBE.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["error"]["data"]["migrations"] == "1 not applied"
