import contextlib
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from payments import states, store
from payments.models import FiscalStatus, Payment, PaymentStatus, statements
from payments.reasons import Code, because
from payments.store import IllegalTransitionError, change_payment
from providers.base import Exchange, GatewayResult, Outcome
from tests.factories import make_payment

pytestmark = pytest.mark.django_db


def test_legal_path_records_each_change_in_the_timeline() -> None:
    payment = make_payment()
    payment = change_payment(payment, status=PaymentStatus.PROCESSING, reason="sent")
    payment = change_payment(
        payment, status=PaymentStatus.PAID, reason="answered", provider_payment_id="77"
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.paid_at is not None
    assert payment.provider_payment_id == "77"
    # A paid QR payment waits for its fiscal receipt.
    assert payment.fiscal_status == FiscalStatus.PENDING
    steps = [(e.from_status, e.to_status, e.reason) for e in payment.events.all()]
    assert steps == [("created", "processing", "sent"), ("processing", "paid", "answered")]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (PaymentStatus.FAILED, PaymentStatus.PAID),
        (PaymentStatus.PAID, PaymentStatus.FAILED),
        (PaymentStatus.CREATED, PaymentStatus.PAID),
        (PaymentStatus.REVERSED, PaymentStatus.PAID),
    ],
)
def test_illegal_transition_is_refused_and_changes_nothing(start: str, target: str) -> None:
    payment = make_payment(status=start)
    events = payment.events.count()
    with pytest.raises(IllegalTransitionError):
        change_payment(payment, status=target, reason="x", provider_code="-1")
    payment.refresh_from_db()
    assert payment.status == start
    assert payment.provider_code == ""
    assert payment.events.count() == events


def test_fiscal_status_cannot_leave_submitted() -> None:
    payment = make_payment(status=PaymentStatus.PAID, fiscal_status=FiscalStatus.SUBMITTED)
    with pytest.raises(IllegalTransitionError):
        change_payment(payment, fiscal_status=FiscalStatus.FAILED, reason="x")


def test_a_flag_set_or_cleared_is_a_step_with_its_reason_and_a_flag_kept_is_none() -> None:
    payment = make_payment(status=PaymentStatus.UNKNOWN)
    steps = payment.events.count()
    why = because(Code.FLAGGED, note="still unknown")
    payment = change_payment(payment, reason=why, actor="reconcile", needs_attention=True)
    payment = change_payment(payment, reason=why, actor="reconcile", needs_attention=True)
    payment = change_payment(payment, reason="by_hand", actor="anna", needs_attention=False)
    added = list(payment.events.all()[steps:])
    assert [(e.flagged, e.reason, e.actor) for e in added] == [
        (True, "flagged", "reconcile"),
        (False, "by_hand", "anna"),
    ]
    assert added[0].reason_data == {"note": "still unknown"}
    assert (added[0].from_status, added[0].to_status) == ("", "")


def test_same_status_only_writes_fields_without_an_event() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    events = payment.events.count()
    payment = change_payment(
        payment, status=PaymentStatus.PROCESSING, reason="poll", provider_status="1"
    )
    assert payment.provider_status == "1"
    assert payment.events.count() == events


@pytest.mark.parametrize(
    ("result", "note"),
    [
        (GatewayResult(Outcome.UNKNOWN, message="still no answer"), "no answer: timeout"),
        (GatewayResult(Outcome.FAILED, message="declined"), "declined"),
        (
            GatewayResult(Outcome.UNKNOWN, message="ask the cabinet", needs_attention=True),
            "ask the cabinet",
        ),
    ],
)
def test_a_later_answer_replaces_the_note_only_to_say_why(result, note: str) -> None:
    """The note is what the register and the admin's flag show: a lookup keeps the charge's
    own, unless it says why the payment failed or why a person must look."""
    payment = make_payment(status=PaymentStatus.UNKNOWN, provider_message="no answer: timeout")
    status_by_outcome = {Outcome.FAILED: PaymentStatus.FAILED}
    payment = store.record_result(payment, result, status_by_outcome, reason="reconcile")
    assert payment.provider_message == note


def test_identity_and_amount_cannot_be_written() -> None:
    payment = make_payment()
    with pytest.raises(TypeError):
        change_payment(payment, reason="x", amount=1)


def test_change_works_on_the_locked_row_not_a_stale_copy() -> None:
    payment = make_payment()
    stale = type(payment).objects.get(pk=payment.pk)
    change_payment(payment, status=PaymentStatus.PROCESSING, reason="sent")
    # The stale copy says "created", from which "paid" is illegal; the locked path judges
    # the row as it is now ("processing") and allows it.
    updated = change_payment(stale, status=PaymentStatus.PAID, reason="answered")
    assert updated.status == PaymentStatus.PAID


def test_a_change_of_the_row_as_read_is_one_guarded_update_without_a_lock() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    with CaptureQueriesContext(connection) as queries:
        updated = change_payment(payment, status=PaymentStatus.PAID, reason="answered")
    sql = [q["sql"] for q in queries]
    assert not [text for text in sql if text.startswith("SELECT") or "FOR UPDATE" in text]
    assert len([text for text in sql if 'UPDATE "payments_payment"' in text]) == 1, sql
    assert updated.status == PaymentStatus.PAID
    assert updated.paid_at is not None
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID


def test_a_row_written_since_it_was_read_is_changed_under_its_lock_as_it_is_now() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    stale = Payment.objects.get(pk=payment.pk)
    # Someone flags it meanwhile; its status stays what the stale copy says.
    change_payment(payment, reason="flagged", needs_attention=True, provider_message="look")
    with CaptureQueriesContext(connection) as queries:
        updated = change_payment(stale, status=PaymentStatus.PAID, reason="answered")
    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "payments_payment"')]
    assert len(reads) == 1, reads  # the row read again, under its lock
    assert updated.status == PaymentStatus.PAID
    assert updated.provider_message == "look"  # the row as it is, not the stale copy
    row = Payment.objects.get(pk=payment.pk)
    assert (row.status, row.provider_message) == (PaymentStatus.PAID, "look")
    assert row.events.filter(to_status=PaymentStatus.PAID).count() == 1


def test_a_status_moved_since_it_was_read_is_judged_as_it_is_now() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    stale = Payment.objects.get(pk=payment.pk)
    change_payment(payment, status=PaymentStatus.PAID, reason="reconciled")
    with pytest.raises(IllegalTransitionError):
        change_payment(stale, status=PaymentStatus.FAILED, reason="late answer")
    row = Payment.objects.get(pk=payment.pk)
    assert row.status == PaymentStatus.PAID
    assert not row.events.filter(to_status=PaymentStatus.FAILED).exists()


def test_an_answer_that_finds_the_payment_settled_is_journaled_once() -> None:
    """Their word stands; the late answer's exchange is in the journal, once."""
    payment = make_payment(status=PaymentStatus.PROCESSING)
    stale = Payment.objects.get(pk=payment.pk)
    change_payment(payment, status=PaymentStatus.PAID, reason="reconciled")
    said = Exchange("click", "payment/status", "GET", "https://click.example/")
    late = GatewayResult(Outcome.FAILED, exchanges=(said,))
    now = store.record_result(stale, late, states.CHARGE_STATUS, reason="answered")
    assert now.status == PaymentStatus.PAID
    assert now.exchanges.filter(operation="payment/status").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_changes_at_once_take_turns_on_the_row_lock(monkeypatch) -> None:
    """Reconcile says paid while an operator says failed, at the same moment: exactly one
    wins, the other is refused. Both read `processing`; the first guarded write holds the
    row, the second finds it written meanwhile and takes the lock, which judges the row as
    it is now. Unguarded, both would write."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time anyway; the lock is proven on PostgreSQL")
    payment = make_payment(status=PaymentStatus.PROCESSING)
    both_read = threading.Barrier(2)
    real_update = statements.update_with

    def update_when_both_have_read(row, names, **guarded) -> bool:
        both_read.wait(timeout=5.0)  # the guarded writes only: both happen at once
        return real_update(row, names, **guarded)

    monkeypatch.setattr(statements, "update_with", update_when_both_have_read)
    outcomes, steps = paid_and_failed_at_once(payment)
    # Exactly one wins, the other is refused, and the timeline holds the one.
    assert outcomes in (["paid", "refused"], ["failed", "refused"])
    assert steps == 1


def test_the_exchanges_survive_a_change_that_fails(monkeypatch) -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    real_write = statements.update_with

    def breaks_after_writing(row, names, **rest) -> bool:
        real_write(row, names, **rest)
        raise RuntimeError("the change broke after its journal rows were written")

    monkeypatch.setattr(statements, "update_with", breaks_after_writing)
    exchange = Exchange(provider="click", operation="click_pass/payment", method="POST", url="u")
    result = GatewayResult(Outcome.SUCCESS, exchanges=(exchange,))
    with pytest.raises(RuntimeError):
        store.record_result(payment, result, states.CHARGE_STATUS, reason="answered")
    monkeypatch.setattr(statements, "update_with", real_write)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING  # the change did not happen
    assert list(payment.exchanges.values_list("operation", flat=True)) == ["click_pass/payment"]


def test_changes_in_one_batch_are_each_what_change_payment_makes() -> None:
    open_ones = [make_payment(status=PaymentStatus.UNKNOWN) for _ in range(3)]
    settled_first = make_payment(status=PaymentStatus.FAILED)
    exchange = Exchange(provider="click", operation="payment/status", method="GET", url="u")
    changes = [
        store.Change(
            open_ones[0],
            because(Code.RECONCILE, outcome="success"),
            PaymentStatus.PAID,
            exchanges=(exchange,),
            fields={"provider_payment_id": "901", "payer_phone": "998901112233"},
        ),
        store.Change(open_ones[1], "reconcile: failed", PaymentStatus.FAILED),
        store.Change(settled_first, "reconcile: success", PaymentStatus.PAID),
        store.Change(
            open_ones[2], "flag", fields={"needs_attention": True, "provider_message": "look"}
        ),
    ]
    before = {p.pk: p.updated_at for p in open_ones}
    steps_before = open_ones[2].events.count()
    outcomes = store.write(changes)

    paid, failed, refused, flagged = outcomes
    assert isinstance(refused, IllegalTransitionError)
    assert refused.payment.status == PaymentStatus.FAILED  # their word stands
    for row in (paid, failed, flagged):
        row.refresh_from_db()
        assert row.updated_at > before[row.pk]
    assert (paid.status, paid.provider_payment_id, paid.payer_phone) == (
        "paid",
        "901",
        "998901112233",
    )
    assert paid.fiscal_status == FiscalStatus.PENDING
    assert paid.paid_at is not None
    assert failed.status == PaymentStatus.FAILED
    assert (flagged.status, flagged.needs_attention, flagged.provider_message) == (
        PaymentStatus.UNKNOWN,
        True,
        "look",
    )
    last = paid.events.last()
    assert (last.reason, last.reason_data) == ("reconcile", {"outcome": "success"})
    flag = flagged.events.last()  # a person is asked for: a step, with why
    assert flagged.events.count() == steps_before + 1
    assert (flag.reason, flag.flagged, flag.to_status) == ("flag", True, "")
    assert paid.exchanges.get().operation == "payment/status"
    settled_first.refresh_from_db()
    assert settled_first.status == PaymentStatus.FAILED


def test_a_batch_of_rows_as_read_is_one_statement_without_a_lock() -> None:
    rows = [make_payment(status=PaymentStatus.UNKNOWN) for _ in range(3)]
    said = Exchange(provider="click", operation="payment/status", method="GET", url="u")
    changes = [
        store.Change(row, "reconcile", PaymentStatus.PAID, exchanges=(said,)) for row in rows
    ]
    with CaptureQueriesContext(connection) as queries:
        outcomes = store.write(changes)
    sql = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]  # the test's transaction
    assert not [text for text in sql if text.startswith("SELECT") or "FOR UPDATE" in text]
    if connection.vendor == "postgresql":
        assert len(sql) == 1, sql  # the rows, their journal rows and their events
    assert [o.status for o in outcomes] == [PaymentStatus.PAID] * 3
    for row in rows:
        assert row.events.filter(to_status=PaymentStatus.PAID).count() == 1
        assert row.exchanges.filter(operation="payment/status").count() == 1


def test_a_batch_row_written_since_it_was_read_is_decided_again_as_it_is_now() -> None:
    """Of a batch read at once, one row was settled meanwhile and another changed in a way
    that still allows the change: the first is refused, the second written on the row as
    it is (its new note kept), the third as read."""
    settled, noted, untouched = [make_payment(status=PaymentStatus.UNKNOWN) for _ in range(3)]
    change_payment(
        Payment.objects.get(pk=settled.pk), status=PaymentStatus.PAID, reason="by another"
    )
    change_payment(Payment.objects.get(pk=noted.pk), reason="note", provider_message="look")
    said = Exchange(provider="click", operation="payment/status", method="GET", url="u")
    changes = [
        store.Change(row, "reconcile", PaymentStatus.FAILED, exchanges=(said,))
        for row in (settled, noted, untouched)
    ]
    refused, failed, as_read = store.write(changes)
    assert isinstance(refused, IllegalTransitionError)
    settled.refresh_from_db()
    assert settled.status == PaymentStatus.PAID  # their word stands
    assert not settled.events.filter(to_status=PaymentStatus.FAILED).exists()
    noted.refresh_from_db()
    assert (noted.status, noted.provider_message) == (PaymentStatus.FAILED, "look")
    assert Payment.objects.get(pk=untouched.pk).status == PaymentStatus.FAILED
    for row in (settled, noted, untouched):
        assert row.exchanges.filter(operation="payment/status").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_changes_in_the_locked_path_at_once_take_turns(monkeypatch) -> None:
    """Both writers forced past the guarded write into the locked path at the same moment:
    the row lock makes the second read the row only once the first committed, so it judges
    `paid` and refuses `failed`. Without the lock both would read `processing`, both would
    write, and the payment would go paid -> failed."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time anyway; the lock is proven on PostgreSQL")
    payment = make_payment(status=PaymentStatus.PROCESSING)
    monkeypatch.setattr(store, "_written_as_read", lambda changes: [None] * len(changes))
    # Each waits, having read the row, for the other to have read it too: under the lock the
    # other cannot, the wait times out and the first goes on alone.
    both_read = threading.Barrier(2)
    real_decide = store._decide

    def decide_when_both_have_read(locked, change):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=1.0)
        return real_decide(locked, change)

    monkeypatch.setattr(store, "_decide", decide_when_both_have_read)
    outcomes, steps = paid_and_failed_at_once(payment)
    # Exactly one wins, the other is refused, and the timeline holds the one.
    assert outcomes in (["paid", "refused"], ["failed", "refused"])
    assert steps == 1


def paid_and_failed_at_once(payment: Payment) -> tuple[list[str], int]:
    """Two threads change the payment at once, to paid and to failed: what each came to
    ("paid", "failed" or "refused"), and how many of the two the timeline holds."""
    outcomes: list[str] = []

    def change(status: str) -> None:
        try:
            change_payment(Payment.objects.get(pk=payment.pk), status=status, reason=status)
            outcomes.append(status)
        except IllegalTransitionError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=change, args=(s,)) for s in ("paid", "failed")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    payment.refresh_from_db()
    return sorted(outcomes), payment.events.filter(to_status__in=["paid", "failed"]).count()
