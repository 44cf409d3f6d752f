"""Each data migration on the rows it was written for, from the state just before it (the
first register's, 0010, and the PIN pads', 0020, have tests of their own)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(name: str):
    """The database brought to payments' migration `name` (back or forth); its models."""
    target = [("payments", name)]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return MigrationExecutor(connection).loader.project_state(target).apps


@pytest.fixture(autouse=True)
def back_to_the_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def payment(apps, **fields):
    defaults = {"provider": "humo", "amount": 500, "transaction_id": uuid.uuid4()}
    return apps.get_model("payments", "Payment").objects.create(**{**defaults, **fields})


def test_0004_a_humo_cancel_becomes_a_reversal_and_back() -> None:
    before = migrate("0003_operators")
    cancel, purchase = payment(before, operation="cancel"), payment(before)
    after = migrate("0004_provider_boundary").get_model("payments", "Payment")
    assert after.objects.get(pk=cancel.pk).operation == "reversal"
    assert after.objects.get(pk=purchase.pk).operation == "purchase"
    undone = migrate("0003_operators").get_model("payments", "Payment")
    assert undone.objects.get(pk=cancel.pk).operation == "cancel"


def test_0005_a_reversed_purchase_gave_all_of_it_back() -> None:
    before = migrate("0004_provider_boundary")
    reversed_ = payment(before, provider="click", status="reversed", amount=70000)
    paid = payment(before, provider="click", status="paid", amount=30000)
    after = migrate("0005_partial_reversals").get_model("payments", "Payment")
    assert after.objects.get(pk=reversed_.pk).reversed_amount == 70000
    assert after.objects.get(pk=paid.pk).reversed_amount == 0


def test_0006_an_old_journal_row_started_when_it_was_written() -> None:
    before = migrate("0005_partial_reversals")
    row = before.get_model("payments", "ProviderExchange").objects.create(
        payment=payment(before), provider="humo", operation="purchase", method="LINE", url="x"
    )
    after = migrate("0006_exchange_started_at").get_model("payments", "ProviderExchange")
    moved = after.objects.get(pk=row.pk)
    assert moved.started_at == moved.created_at


def test_0022_reasons_become_codes_and_back() -> None:
    before = migrate("0021_reversal_in_flight")
    events = before.get_model("payments", "PaymentEvent")
    till = before.get_model("payments", "Register").objects.create(
        name="till 0022", inn="123456789", kkm_id="K1", device_id="D1", cashbox_code="C1"
    )
    paid = payment(before, provider="click", status="paid", register=till)
    said = {
        "sent": ("sent", {}),
        "reconcile: success": ("reconcile", {"outcome": "success"}),
        "status poll 2: pending": ("status_poll", {"attempt": 2, "outcome": "pending"}),
        "by hand: seen in the cabinet": ("by_hand", {"words": "seen in the cabinet"}),
        "reversed 5000 by 5f0a": ("reversed_part", {"amount": 5000, "by": "5f0a"}),
        "reversed at the provider: refunded": ("reversed_at_provider", {"message": "refunded"}),
        "something nobody wrote": ("text", {"text": "something nobody wrote"}),
    }
    rows = {text: events.objects.create(payment=paid, reason=text) for text in said}
    user = before.get_model("auth", "User").objects.create(username="op")
    action = before.get_model("payments", "OperatorAction").objects.create(
        user=user, action="check_status", payment=paid, reason="why", outcome="Оплачен → Оплачен"
    )
    after = migrate("0022_reasons_as_codes")
    converted = after.get_model("payments", "PaymentEvent")
    for text, (code, data) in said.items():
        row = converted.objects.get(pk=rows[text].pk)
        assert (row.reason, row.reason_data) == (code, data), text
    audited = after.get_model("payments", "OperatorAction").objects.get(pk=action.pk)
    assert (audited.outcome, audited.outcome_data) == ("text", {"text": "Оплачен → Оплачен"})
    # A rollback to the release before writes the sentences back.
    undone = migrate("0021_reversal_in_flight")
    back = undone.get_model("payments", "PaymentEvent")
    assert {back.objects.get(pk=row.pk).reason for row in rows.values()} == set(said)
    restored = undone.get_model("payments", "OperatorAction").objects.get(pk=action.pk)
    assert restored.outcome == "Оплачен → Оплачен"


def test_0023_the_first_registers_secrets_are_named_like_every_other() -> None:
    before = migrate("0022_reasons_as_codes")
    accounts = before.get_model("payments", "ProviderAccount")
    click = accounts.objects.create(
        provider="click",
        name="CLICK 0023",
        settings={"service_id": "1", "merchant_user_id": "2", "secret_key": "CLICK_SECRET_KEY"},
    )
    payme = accounts.objects.create(
        provider="payme", name="Payme 0023", settings={"cashbox_id": "c", "key": "PAYME_KEY"}
    )
    other = accounts.objects.create(
        provider="click",
        name="CLICK shop 2",
        settings={"service_id": "3", "merchant_user_id": "4", "secret_key": "PROVIDER_SECRET_B"},
    )
    after = migrate("0023_one_secret_naming").get_model("payments", "ProviderAccount")
    assert after.objects.get(pk=click.pk).settings["secret_key"] == "PROVIDER_SECRET_CLICK"
    assert after.objects.get(pk=payme.pk).settings["key"] == "PROVIDER_SECRET_PAYME"
    assert after.objects.get(pk=other.pk).settings["secret_key"] == "PROVIDER_SECRET_B"
    undone = migrate("0022_reasons_as_codes").get_model("payments", "ProviderAccount")
    assert undone.objects.get(pk=click.pk).settings["secret_key"] == "CLICK_SECRET_KEY"


def test_0025_a_reversal_in_flight_becomes_an_unknown_refund_and_back() -> None:
    before = migrate("0024_event_flagged")
    till = before.get_model("payments", "Register").objects.create(
        name="till 0025", inn="123456789", kkm_id="K1", device_id="D1", cashbox_code="C1"
    )
    sent_at = timezone.now() - timedelta(minutes=7)
    in_flight = payment(
        before,
        provider="click",
        status="paid",
        register=till,
        amount=90000,
        reversed_amount=0,
        needs_attention=True,
        reversal_sent_at=sent_at,
    )
    settled = payment(before, provider="click", status="paid", register=till)
    after = migrate("0026_no_reversal_sent_at")
    payments = after.get_model("payments", "Payment")
    refund = payments.objects.get(reverses_id=in_flight.pk)
    assert (refund.operation, refund.status, refund.amount, refund.needs_attention) == (
        "reversal",
        "unknown",
        90000,
        True,
    )
    assert (refund.provider, refund.register_id, refund.created_at) == ("click", till.pk, sent_at)
    step = after.get_model("payments", "PaymentEvent").objects.get(payment_id=refund.pk)
    assert (step.to_status, step.reason, step.flagged) == ("unknown", "reversal_unanswered", True)
    assert not payments.objects.filter(reverses_id=settled.pk).exists()
    # A rollback gives the mark back to the purchase, where the release before settles it.
    undone = migrate("0024_event_flagged").get_model("payments", "Payment")
    assert undone.objects.get(pk=in_flight.pk).reversal_sent_at == sent_at
    assert undone.objects.get(pk=refund.pk).status == "failed"
    assert undone.objects.get(pk=settled.pk).reversal_sent_at is None


def test_0028_tallies_counted_before_refunds_were_told_apart_are_counted_again() -> None:
    """A day tallied before 0028 counted its refunds as money taken: its tallies go, and
    the day is counted again at the next look."""
    before = migrate("0027_one_open_refund_again")
    day = before.get_model("payments", "CountedDay").objects.create(
        day=timezone.localdate() - timedelta(days=2), counted_at=timezone.now()
    )
    before.get_model("payments", "DayTally").objects.create(
        day=day, provider="click", status="paid", fiscal_status="", payments=2, amount=900
    )
    after = migrate("0028_tallies_tell_refunds_apart")
    assert not after.get_model("payments", "DayTally").objects.exists()
    assert after.get_model("payments", "CountedDay").objects.get(pk=day.pk).counted_at is None
