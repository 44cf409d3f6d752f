"""Upgrading a deployment that predates registers: its payments, in every state, become the
first register's, and are found, confirmed and reconciled as before, by a register that
calls as it always did (no key, from the shop's network)."""

import contextlib
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from payments.models import IdempotencyKey, Payment, PaymentStatus, ProviderExchange, Register
from tests.helpers import SEED_URL

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("payments", "0008_one_fiscal_submission")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [node for node in executor.loader.graph.leaf_nodes() if node[0] == "payments"]


def test_payments_of_the_previous_version_are_served_after_the_upgrade(
    click, payme, pinpad, settings
) -> None:
    old = migrate(BEFORE)
    old_payments = old.get_model("payments", "Payment")
    old_keys = old.get_model("payments", "IdempotencyKey")
    old_exchanges = old.get_model("payments", "ProviderExchange")

    def old_payment(status: str, **fields) -> object:
        defaults = {"provider": "click", "amount": 500, "transaction_id": uuid.uuid4()}
        return old_payments.objects.create(**{**defaults, **fields, "status": status})

    # A paid CLICK payment waiting for its receipt, CLICK knowing it.
    paid = old_payment("paid", qr_code="7700000101", fiscal_status="pending")
    paid_id = click.record_charge("7700000101", Decimal("5.00"), str(paid.transaction_id))
    old_payments.objects.filter(pk=paid.pk).update(provider_payment_id=str(paid_id))
    # One whose answer was lost: CLICK charged it.
    lost = old_payment("unknown", qr_code="7700000102")
    click.record_charge("7700000102", Decimal("5.00"), str(lost.transaction_id))
    # And every other state, of every provider.
    others = [
        old_payment("created", qr_code="7700000103"),
        old_payment("processing", provider="payme", qr_code="5050000104"),
        old_payment("failed", qr_code="7700000105"),
        old_payment("reversed", qr_code="7700000106", reversed_amount=500),
        old_payment("paid", provider="humo", qr_code=None, amount=50000),
    ]
    old_keys.objects.create(
        key="k-before", request_hash="0" * 64, transaction_id=paid.transaction_id,
        expires_at="2099-01-01T00:00:00Z",
    )  # fmt: skip
    old_exchanges.objects.create(provider="humo", operation="close_day", method="", url="")

    migrate(latest())

    first = Register.objects.get()
    assert first.name == settings.FIRST_REGISTER_NAME
    assert Payment.objects.filter(register=first).count() == 7
    assert IdempotencyKey.objects.get().register == first
    assert ProviderExchange.objects.get().register == first
    assert sorted(a.provider for a in first.accounts.all()) == ["click", "humo", "payme"]

    register = APIClient(REMOTE_ADDR="192.168.1.20")  # the shop's LAN, no key: as before
    for payment in [paid, lost, *others]:
        found = register.get(f"/payment/status/{payment.transaction_id}").json()
        assert found["data"]["status"] == payment.status, found
    confirmed = register.post(
        "/payment/click_confirm", {"payment_id": str(paid_id), "qrcode": SEED_URL}, format="json"
    ).json()
    assert confirmed["is_success"] is True, confirmed
    assert click.payments[paid_id].ofd_qrcode == SEED_URL

    with contextlib.suppress(CommandError):  # exit 2: some wait for a person, as before
        call_command("reconcile", "--min-age", "0", stdout=StringIO(), stderr=StringIO())
    assert Payment.objects.get(pk=lost.pk).status == PaymentStatus.PAID
