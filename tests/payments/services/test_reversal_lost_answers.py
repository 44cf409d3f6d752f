"""A CLICK, Payme or Uzum reversal whose answer is lost is not a refusal: the reversal may
have gone through. The purchase is flagged before the provider hears of it, the caller
hears 110 with the purchase's id, the exchanges are journaled, the flag stays until someone
settles it, and nothing is sent twice. Only the provider's word is a refusal (104)."""

import pytest

from emulators.server import AFTER
from payments.errors import ErrorCode
from payments.models import Payment, PaymentStatus, ProviderExchange
from payments.services import reversals
from tests.helpers import post_json

pytestmark = pytest.mark.django_db

UZUM_CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:"
# provider: (its route, a code it charges at once, its reversal's operation at the emulator)
PROVIDERS = {
    "click": ("/payment/click", "77001100{n:02d}", "payment/reversal"),
    "payme": ("/payment/payme", "505011000{n:02d}", "receipts.cancel"),
    "uzum": ("/payment/uzum", UZUM_CODE + "reversal-{n:02d}", "payment/reversal"),
}
LOST = ["timeout_before", "timeout_after", "server_error", "reset", "reset_after", "not_json"]


def paid_purchase(request, api, provider: str, n: int) -> tuple[Payment, object]:
    """A purchase paid through the register API, and its provider's emulator server."""
    server = request.getfixturevalue(f"{provider}_server")
    request.getfixturevalue(provider)  # emptied, and the service pointed at it
    route, code, _ = PROVIDERS[provider]
    answer = post_json(api, route, {"amount": 500, "qr_code": code.format(n=n)})
    assert answer["is_success"] is True, answer
    return Payment.objects.get(transaction_id=answer["data"]["transaction_id"]), server


def reversal_requests(server, provider: str) -> int:
    """The reversals the provider's emulator acted on (a fault before acting: none)."""
    operation = PROVIDERS[provider][2]
    return sum(1 for line in server.emulator.stats()["requests"] if operation in line)


@pytest.mark.parametrize("fault", LOST)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reversal_whose_answer_is_lost_is_unknown_and_flagged(
    request, api, provider: str, fault: str
) -> None:
    purchase, server = paid_purchase(request, api, provider, LOST.index(fault))
    operation = PROVIDERS[provider][2]
    server.faults.inject(operation, fault)
    with pytest.raises(reversals.ApplicationError) as raised:
        reversals.reverse(purchase, actor="op")
    assert raised.value.code == ErrorCode.OUTCOME_UNKNOWN  # never "declined"
    assert raised.value.data == {"transaction_id": str(purchase.transaction_id)}
    purchase.refresh_from_db()
    assert purchase.status == PaymentStatus.PAID  # not known to be reversed either
    assert purchase.needs_attention
    journaled = ProviderExchange.objects.filter(payment=purchase, operation=operation)
    assert journaled.count() >= 1
    # Sent once: the fault was met once, and the provider acted at most once.
    assert server.faults.take(operation) is None
    assert reversal_requests(server, provider) == (1 if fault in AFTER else 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reversal_answered_is_counted_and_the_flag_goes(request, api, provider: str) -> None:
    purchase, server = paid_purchase(request, api, provider, 50)
    reversed_ = reversals.reverse(purchase, actor="op")
    assert (reversed_.status, reversed_.needs_attention) == (PaymentStatus.REVERSED, False)
    assert ProviderExchange.objects.filter(
        payment=purchase, operation=PROVIDERS[provider][2]
    ).exists()
    assert reversal_requests(server, provider) == 1


def test_only_the_providers_word_is_a_refusal(request, api) -> None:
    purchase, _ = paid_purchase(request, api, "click", 60)
    Payment.objects.filter(pk=purchase.pk).update(provider_payment_id="999999999")
    purchase.refresh_from_db()  # a payment CLICK does not know: it refuses the reversal
    with pytest.raises(reversals.ApplicationError) as raised:
        reversals.reverse(purchase, actor="op")
    assert raised.value.code == ErrorCode.BILLING
    purchase.refresh_from_db()
    assert (purchase.status, purchase.needs_attention) == (PaymentStatus.PAID, False)


def test_a_process_that_dies_during_the_call_leaves_the_purchase_flagged(
    request, api, monkeypatch
) -> None:
    """Flagged before the provider hears of it: what dies between the call and its record
    leaves a purchase a person looks at, not one that reads as never reversed."""
    from providers import registry

    purchase, _ = paid_purchase(request, api, "click", 70)

    def dies(data):
        raise SystemExit("the worker was killed mid-call")

    monkeypatch.setattr(registry.GATEWAYS["click"], "reverse", dies)
    with pytest.raises(SystemExit):
        reversals.reverse(purchase, actor="op")
    purchase.refresh_from_db()
    assert (purchase.status, purchase.needs_attention) == (PaymentStatus.PAID, True)


def test_the_operators_reversal_without_an_answer_reads_as_unknown_not_refused(
    request, api
) -> None:
    from django.contrib.auth.models import User

    from payments.admin.outcomes import action_outcome, outcome_text
    from payments.models import OperatorAction
    from payments.services import operations

    purchase, server = paid_purchase(request, api, "uzum", 80)
    server.faults.inject("payment/reversal", "timeout_after")
    user = User.objects.create_user("op", password="pw", is_staff=True)
    done, outcome = operations.run("reverse_payments", purchase, user=user, reason="returned")
    said = outcome_text(outcome)
    assert done is False
    assert said.startswith("no answer from the provider: it may have gone through")
    assert "refused" not in said
    assert action_outcome(OperatorAction.objects.get()) == said


# --- settled by asking, never by sending again ---------------------------------------------


def reconcile(*args: str) -> tuple[int, str]:
    """`manage.py reconcile --min-age 0`: (exit status, what it printed)."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    try:
        call_command("reconcile", "--min-age", "0", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


# Whether the provider acted before the answer was lost, by fault: what reconcile must find.
ACTED = {"timeout_before": False, "timeout_after": True, "reset": False, "reset_after": True}


@pytest.mark.parametrize("fault", list(ACTED))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_reconcile_settles_a_lost_reversal_by_asking(
    request, api, provider: str, fault: str
) -> None:
    purchase, server = paid_purchase(request, api, provider, 10 + list(ACTED).index(fault))
    operation = PROVIDERS[provider][2]
    server.faults.inject(operation, fault)
    with pytest.raises(reversals.ApplicationError):
        reversals.reverse(purchase, actor="op")
    purchase.refresh_from_db()
    assert purchase.reversal_in_flight
    assert purchase.needs_attention

    status, _ = reconcile()
    purchase.refresh_from_db()
    acted = ACTED[fault]
    assert status == 0  # the provider's word settles it: nothing left for a person
    assert purchase.status == (PaymentStatus.REVERSED if acted else PaymentStatus.PAID)
    assert purchase.reversed_amount == (purchase.amount if acted else 0)
    assert (purchase.reversal_in_flight, purchase.needs_attention) == (False, False)
    # Settled by asking: the reversal was sent once, whatever reconcile learnt.
    assert reversal_requests(server, provider) == (1 if acted else 0)
    asked = ProviderExchange.objects.filter(payment=purchase).exclude(operation=operation)
    assert asked.filter(created_at__gt=purchase.reversal_sent_at or purchase.paid_at).exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reversal_in_flight_is_never_sent_again(request, api, provider: str) -> None:
    purchase, server = paid_purchase(request, api, provider, 20)
    server.faults.inject(PROVIDERS[provider][2], "timeout_after")
    with pytest.raises(reversals.ApplicationError):
        reversals.reverse(purchase, actor="op")
    purchase.refresh_from_db()
    with pytest.raises(reversals.ApplicationError) as again:
        reversals.reverse(purchase, actor="op")
    assert again.value.data["reason"] == "cancel_in_progress"
    assert reversal_requests(server, provider) == 1


def test_two_reversals_read_at_once_send_one(request, api) -> None:
    """Two operators who read the purchase before either sent: the second finds the first's
    reversal in flight under the row lock and sends nothing."""
    purchase, server = paid_purchase(request, api, "click", 30)
    stale = Payment.objects.get(pk=purchase.pk)
    server.faults.inject("payment/reversal", "timeout_after")
    with pytest.raises(reversals.ApplicationError):
        reversals.reverse(purchase, actor="first")
    with pytest.raises(reversals.ApplicationError) as second:
        reversals.reverse(stale, actor="second")  # read before the first one was sent
    assert second.value.data["reason"] == "cancel_in_progress"
    assert reversal_requests(server, "click") == 1


def test_a_dry_run_reports_a_lost_reversal_and_changes_nothing(request, api) -> None:
    purchase, server = paid_purchase(request, api, "uzum", 40)
    server.faults.inject("payment/reversal", "timeout_after")
    with pytest.raises(reversals.ApplicationError):
        reversals.reverse(purchase, actor="op")
    status, printed = reconcile("--dry-run")
    after = Payment.objects.get(pk=purchase.pk)
    assert (after.status, after.reversal_in_flight, after.needs_attention) == (
        PaymentStatus.PAID,
        True,
        True,
    )
    assert "reversed" in printed
    assert "dry run" in printed
    assert status == 0


def test_a_reversal_the_provider_cannot_tell_yet_stays_flagged(request, api) -> None:
    purchase, server = paid_purchase(request, api, "payme", 41)
    server.faults.inject("receipts.cancel", "timeout_after")
    with pytest.raises(reversals.ApplicationError):
        reversals.reverse(purchase, actor="op")
    server.faults.inject("receipts.check", "server_error")
    status, printed = reconcile()
    purchase.refresh_from_db()
    assert status == 2  # a person is told
    assert (purchase.status, purchase.reversal_in_flight, purchase.needs_attention) == (
        PaymentStatus.PAID,
        True,
        True,
    )
    assert "reversal still unanswered" in printed
    assert reversal_requests(server, "payme") == 1
    status, _ = reconcile()  # the provider answers now
    purchase.refresh_from_db()
    assert (status, purchase.status, purchase.reversal_in_flight) == (
        0,
        PaymentStatus.REVERSED,
        False,
    )


def test_the_operators_status_question_settles_a_lost_reversal(request, api) -> None:
    from django.contrib.auth.models import User

    from payments.services import operations

    purchase, server = paid_purchase(request, api, "click", 42)
    server.faults.inject("payment/reversal", "reset_after")
    with pytest.raises(reversals.ApplicationError):
        reversals.reverse(purchase, actor="op")
    purchase.refresh_from_db()
    user = User.objects.create_user("op", password="pw", is_staff=True)
    done, _ = operations.run("check_status", purchase, user=user, reason="asked")
    purchase.refresh_from_db()
    assert done
    assert (purchase.status, purchase.reversal_in_flight, purchase.needs_attention) == (
        PaymentStatus.REVERSED,
        False,
        False,
    )
    assert reversal_requests(server, "click") == 1
