"""Operator actions racing the service's own settling: a clear refusal, an audit row."""

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import translation

from payments.admin.outcomes import action_outcome, why_refused
from payments.errors import ApplicationError
from payments.models import OperatorAction, OperatorLanguage, Payment, PaymentStatus
from payments.services import operations
from payments.store import change_payment
from tests.factories import make_payment

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/payment/"


@pytest.fixture
def staff(client):
    user = User.objects.create_user("op", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="payments",
            codename__in=["view_payment", "settle_payment", "reverse_payment"],
        )
    )
    client.force_login(user)
    return client


def settled_by_reconcile_first(monkeypatch: pytest.MonkeyPatch, to: str) -> None:
    """Reconcile commits its answer just before the operator's change takes the row lock:
    the operator's page and the action's own check still saw the payment open."""
    real = operations.change_payment

    def reconcile_then_operator(payment: Payment, **change: object) -> Payment:
        change_payment(payment, status=to, reason="reconcile: success", actor="reconcile")
        return real(payment, **change)

    monkeypatch.setattr(operations, "change_payment", reconcile_then_operator)


def settle_as_failed(staff, payment: Payment, reason: str):
    """The operator settles the payment as failed from the list, confirmed."""
    chosen = {"action": "settle_by_hand", "_selected_action": [payment.pk], "status": "failed"}
    confirmed = {**chosen, "confirmed": "yes", "reason": reason}
    return staff.post(CHANGELIST, confirmed, follow=True)


def test_settling_by_hand_what_reconcile_just_settled_is_refused_and_audited(
    staff,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment = make_payment(status=PaymentStatus.UNKNOWN)
    settled_by_reconcile_first(monkeypatch, PaymentStatus.PAID)
    response = settle_as_failed(staff, payment, "seen in the cabinet")
    assert response.status_code == 200
    page = response.content.decode()
    assert "settled meanwhile (it is Paid now)" in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID  # reconcile's word stands
    audit = OperatorAction.objects.get()
    assert (audit.action, audit.reason) == ("settle_by_hand", "seen in the cabinet")
    assert action_outcome(audit) == "not done, because it was settled meanwhile (it is Paid now)"


def test_an_action_on_a_payment_no_longer_open_names_its_state(staff) -> None:
    settle_as_failed(staff, make_payment(status=PaymentStatus.PAID), "late look")
    assert (
        action_outcome(OperatorAction.objects.get())
        == "not done, because it is no longer open (it is Paid)"
    )


def test_a_refusal_reads_in_the_operators_language(staff) -> None:
    """The service refuses with a reason code (the register API's); the operator reads it
    as a sentence in the back office's language, as it is also audited."""
    OperatorLanguage.objects.create(user=User.objects.get(username="op"), language="ru")
    page = settle_as_failed(staff, make_payment(status=PaymentStatus.PAID), "late look")
    page = page.content.decode()
    assert "не выполнено, потому что он уже не открыт (он «Оплачен»)" in page
    audited = OperatorAction.objects.get()  # kept as a code: read in the reader's language
    with translation.override("ru"):
        assert action_outcome(audited) == "не выполнено, потому что он уже не открыт (он «Оплачен»)"


@translation.override("en")
def test_a_providers_refusal_keeps_its_own_words() -> None:
    refusal = ApplicationError.billing("click", -5017, "Insufficient funds")
    refused = operations.refusal(refusal).data
    assert why_refused(refused) == "CLICK answered -5017: Insufficient funds"
    pinpad = operations.refusal(ApplicationError.pinpad("05", "declined by the issuer")).data
    assert why_refused(pinpad) == "the PIN pad answered 05: declined by the issuer"
    with translation.override("ru"):
        assert why_refused(refused) == "CLICK ответил -5017: Insufficient funds"
