"""Refunds of CLICK, Payme and Uzum purchases under the charge's rules: the refund is a row
of its own, committed before the provider hears of it, sent once; a lost answer is asked
about (at once, then by reconcile), never sent again; only the provider's word is a
refusal. The register hears 110 with the refund's id while nobody can tell."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from emulators.server import AFTER
from payments.admin.outcomes import action_outcome, outcome_text
from payments.models import Operation, OperatorAction, Payment, PaymentStatus, ProviderExchange
from payments.services import operations
from tests.helpers import post_json

pytestmark = pytest.mark.django_db

UZUM_CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:"
# provider: (its route, a code it charges at once, its refund's operation at the emulator,
# the lookup that asks about it)
PROVIDERS = {
    "click": ("/payment/click", "77001100{n:02d}", "payment/reversal", "payment/status"),
    "payme": ("/payment/payme", "505011000{n:02d}", "receipts.cancel", "receipts.check"),
    "uzum": ("/payment/uzum", UZUM_CODE + "refund-{n:02d}", "payment/reversal", "payment/status"),
}
LOST = ["timeout_before", "timeout_after", "server_error", "reset", "reset_after", "not_json"]


def paid_purchase(request, api, provider: str, n: int) -> tuple[Payment, object]:
    """A purchase paid through the register API, and its provider's emulator server."""
    server = request.getfixturevalue(f"{provider}_server")
    request.getfixturevalue(provider)  # emptied, and the service pointed at it
    route, code, _, _ = PROVIDERS[provider]
    answer = post_json(api, route, {"amount": 500, "qr_code": code.format(n=n)})
    assert answer["is_success"] is True, answer
    return Payment.objects.get(transaction_id=answer["data"]["transaction_id"]), server


def refund_requests(server, provider: str) -> int:
    """The refunds the provider's emulator acted on (a fault before acting: none)."""
    operation = PROVIDERS[provider][2]
    return sum(1 for line in server.emulator.stats()["requests"] if operation in line)


def refund(api, purchase: Payment, **extra) -> dict:
    body = {"transaction_id": str(purchase.transaction_id), **extra}
    return post_json(api, "/payment/refund", body)


def reconcile(*args: str) -> tuple[int, str]:
    """`manage.py reconcile --min-age 0`: (exit status, what it printed)."""
    out = StringIO()
    try:
        call_command("reconcile", "--min-age", "0", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refund_is_a_row_of_its_own_and_counted_on_its_purchase(
    request, api, provider: str
) -> None:
    purchase, server = paid_purchase(request, api, provider, 50)
    answer = refund(api, purchase)
    assert answer["is_success"] is True, answer
    data = answer["data"]
    made = Payment.objects.get(transaction_id=data["transaction_id"])
    assert (made.operation, made.reverses_id, made.amount) == (
        Operation.REVERSAL,
        purchase.pk,
        500,
    )
    assert data["refunded_transaction_id"] == str(purchase.transaction_id)
    assert ProviderExchange.objects.filter(payment=made, operation=PROVIDERS[provider][2]).exists()
    assert refund_requests(server, provider) == 1
    if provider == "payme":  # queued (21): processing until Payme says 50
        assert (data["status"], data["reversed_amount"]) == ("processing", 0)
        assert reconcile()[0] == 0  # asks: 50, done
    else:
        assert (data["status"], data["reversed_amount"]) == ("reversed", 500)
    purchase.refresh_from_db()
    made.refresh_from_db()
    assert (made.status, purchase.status, purchase.reversed_amount) == (
        PaymentStatus.PAID,
        PaymentStatus.REVERSED,
        500,
    )
    status = api.get(f"/payment/status/{made.transaction_id}").json()["data"]
    assert (status["status"], status["refunded_transaction_id"]) == (
        "reversed",
        str(purchase.transaction_id),
    )
    assert refund_requests(server, provider) == 1


@pytest.mark.parametrize("fault", LOST)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_lost_refund_answer_is_110_and_settled_by_asking(
    request, api, provider: str, fault: str
) -> None:
    purchase, server = paid_purchase(request, api, provider, LOST.index(fault))
    _, _, operation, lookup = PROVIDERS[provider]
    server.faults.inject(operation, fault)
    server.faults.inject(lookup, "server_error")  # the lookup after it gets no answer either
    answer = refund(api, purchase)
    made = Payment.objects.get(operation=Operation.REVERSAL, reverses=purchase)
    assert answer["error"]["code"] == 110, answer  # never "declined"
    assert answer["error"]["data"] == {"transaction_id": str(made.transaction_id)}
    assert made.status == PaymentStatus.UNKNOWN
    assert ProviderExchange.objects.filter(payment=made, operation=operation).count() == 1
    acted = fault in AFTER
    assert refund_requests(server, provider) == (1 if acted else 0)  # sent once

    status, _ = reconcile()
    made.refresh_from_db()
    purchase.refresh_from_db()
    assert status == 0  # the provider's word settles it: nothing left for a person
    if acted:
        assert made.status == PaymentStatus.PAID
        assert (purchase.status, purchase.reversed_amount) == (PaymentStatus.REVERSED, 500)
    else:
        assert made.status == PaymentStatus.FAILED
        assert (purchase.status, purchase.reversed_amount) == (PaymentStatus.PAID, 0)
    assert not made.needs_attention
    assert refund_requests(server, provider) == (1 if acted else 0)  # never sent again


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_second_refund_while_one_is_open_is_refused_and_sends_nothing(
    request, api, provider: str
) -> None:
    purchase, server = paid_purchase(request, api, provider, 20)
    _, _, operation, lookup = PROVIDERS[provider]
    server.faults.inject(operation, "timeout_after")
    server.faults.inject(lookup, "server_error")
    assert refund(api, purchase)["error"]["code"] == 110
    again = refund(api, purchase)
    assert again["error"]["code"] == 106
    assert again["error"]["data"]["reason"] == "refund_in_progress"
    assert refund_requests(server, provider) == 1


def test_uzum_refuses_where_reversal_is_not_allowed(request, api) -> None:
    server = request.getfixturevalue("uzum_server")
    request.getfixturevalue("uzum")
    paid = post_json(api, "/payment/uzum", {"amount": 500, "qr_code": "9916" + UZUM_CODE[4:]})
    purchase = Payment.objects.get(transaction_id=paid["data"]["transaction_id"])
    answer = refund(api, purchase)
    assert answer["error"]["code"] == 104
    assert answer["error"]["data"]["note"] == "apelsin.pay.reverse.not.allowed"
    purchase.refresh_from_db()
    assert (purchase.status, purchase.reversed_amount) == (PaymentStatus.PAID, 0)
    assert Payment.objects.get(reverses=purchase).status == PaymentStatus.FAILED
    assert server.emulator.stats()["reversals"] == 0


def test_the_operators_refund_without_an_answer_reads_as_unknown_not_refused(request, api) -> None:
    purchase, server = paid_purchase(request, api, "uzum", 80)
    server.faults.inject("payment/reversal", "timeout_after")
    server.faults.inject("payment/status", "server_error")
    user = User.objects.create_user("op", password="pw", is_staff=True)
    done, outcome = operations.run("reverse_payments", purchase, user=user, reason="returned")
    said = outcome_text(outcome)
    assert done is False
    assert said.startswith("no answer from the provider: it may have gone through")
    assert "refused" not in said
    assert action_outcome(OperatorAction.objects.get()) == said


def test_the_operators_status_question_settles_a_lost_refund(request, api) -> None:
    purchase, server = paid_purchase(request, api, "click", 42)
    server.faults.inject("payment/reversal", "reset_after")
    server.faults.inject("payment/status", "server_error")
    assert refund(api, purchase)["error"]["code"] == 110
    made = Payment.objects.get(reverses=purchase)
    user = User.objects.create_user("op", password="pw", is_staff=True)
    done, _ = operations.run("check_status", made, user=user, reason="asked")
    made.refresh_from_db()
    purchase.refresh_from_db()
    assert done
    assert (made.status, purchase.status, purchase.reversed_amount) == (
        PaymentStatus.PAID,
        PaymentStatus.REVERSED,
        500,
    )
    assert refund_requests(server, "click") == 1


def test_a_dry_run_reports_a_lost_refund_and_changes_nothing(request, api) -> None:
    purchase, server = paid_purchase(request, api, "uzum", 40)
    server.faults.inject("payment/reversal", "timeout_after")
    server.faults.inject("payment/status", "server_error")
    refund(api, purchase)
    status, printed = reconcile("--dry-run")
    made = Payment.objects.get(reverses=purchase)
    assert made.status == PaymentStatus.UNKNOWN
    assert Payment.objects.get(pk=purchase.pk).reversed_amount == 0
    assert "dry run" in printed
    assert status == 0


def test_the_operators_second_refund_while_one_is_open_reads_as_a_sentence(request, api) -> None:
    purchase, server = paid_purchase(request, api, "click", 43)
    server.faults.inject("payment/reversal", "timeout_after")
    server.faults.inject("payment/status", "server_error")
    assert refund(api, purchase)["error"]["code"] == 110
    user = User.objects.create_user("op", password="pw", is_staff=True)
    purchase.refresh_from_db()
    done, outcome = operations.run("reverse_payments", purchase, user=user, reason="again")
    assert done is False
    assert outcome_text(outcome) == "not done, because a refund of it is already under way"
    assert refund_requests(server, "click") == 1
