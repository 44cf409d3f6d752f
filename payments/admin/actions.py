"""The operator actions: each behind its own permission, each first showing what will
happen and asking why (a form), then run through the operations service, which writes the
audit row whatever came of it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from payments.admin.base import uzs
from payments.admin.outcomes import changed_nothing, outcome_text
from payments.models import Payment
from payments.reasons import Reason
from payments.services import operations


@dataclass(frozen=True)
class BackOfficeAction:
    name: str  # also the operations service's name for it
    permission: str  # codename in payments.Payment's Meta.permissions
    description: str | Promise  # the button
    explains: str | Promise  # what the confirmation page says will happen
    choose_status: bool = False  # the operator says how it ended
    # The payment's own answer to "can this be done to it?", for its page's buttons.
    applies: Callable[[Payment], bool] = lambda payment: True


ACTIONS = [
    BackOfficeAction(
        "check_status",
        "check_status",
        _("Ask the provider for the status"),
        _(
            "The provider (or, for HUMO, the PIN pad's last transaction) is asked what became "
            "of each payment, and its answer is recorded on the payment. Nothing is charged."
        ),
    ),
    BackOfficeAction(
        "retry_fiscal",
        "retry_fiscal",
        _("Retry the fiscal submission"),
        _(
            "The register's receipt URL on each payment is sent to the provider again (for "
            "CLICK, only if CLICK does not have it already). Payments without a refused "
            "receipt are left as they are."
        ),
        applies=lambda payment: payment.can_retry_fiscal,
    ),
    BackOfficeAction(
        "reverse_payments",
        "reverse_payment",
        _("Reverse (give the money back)"),
        _(
            "Each paid payment is undone at its provider: a CLICK or Uzum reversal, a Payme "
            "receipts.cancel, or a cancel on the HUMO PIN pad. The customer gets the money "
            "back; the register must issue its own refund receipt. When the provider does not "
            "answer, the payment stays flagged with its reversal under way until the provider "
            "says (reconcile, or the status question), and nobody gives cash meanwhile."
        ),
        applies=lambda payment: payment.can_reverse,
    ),
    BackOfficeAction(
        "settle_by_hand",
        "settle_payment",
        _("Settle an unknown payment by hand"),
        _(
            "Each open (unknown or processing) payment is set to what you found in the "
            "provider's cabinet or the terminal's journal. No provider is called."
        ),
        choose_status=True,
        applies=lambda payment: payment.can_settle_by_hand,
    ),
]


def operator(request: HttpRequest) -> User:
    """The signed-in operator (the admin site lets no one else this far)."""
    user = request.user
    assert isinstance(user, User)
    return user


class ConfirmForm(forms.Form):
    confirmed = forms.CharField(required=False)
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "required": True})
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "—"), *[(s, s) for s in operations.SETTLED_BY_HAND]]
    )

    def __init__(self, *args: Any, choose_status: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose_status = choose_status

    @property
    def is_confirmed(self) -> bool:
        return self.data.get("confirmed") == "yes"

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why: the reason goes to the audit trail."))
        return reason

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if self.choose_status and not status:
            raise forms.ValidationError(_("Choose paid or failed."))
        return status


def admin_action(action: BackOfficeAction) -> Callable:
    # The description is lazy text, read in the operator's language when shown.
    @admin.action(description=cast(str, action.description), permissions=[action.permission])
    def run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> Any:
        form = ConfirmForm(request.POST, choose_status=action.choose_status)
        if form.is_confirmed:
            if form.is_valid():
                acted_on = list(queryset)
                for payment in acted_on:
                    done, outcome = operations.run(
                        action.name,
                        payment,
                        user=operator(request),
                        reason=form.cleaned_data["reason"],
                        status=form.cleaned_data["status"],
                    )
                    said = gettext("Payment %(id)s: %(outcome)s") % {
                        "id": payment.transaction_id,
                        "outcome": outcome_text(outcome),
                    }
                    modeladmin.message_user(request, said, _level(done, outcome))
                if len(acted_on) == 1:  # back to the payment, the list's filters kept
                    page = reverse("admin:payments_payment_change", args=[acted_on[0].pk])
                    kept = {
                        "preserved_filters": modeladmin.get_preserved_filters(request),
                        "opts": modeladmin.model._meta,
                    }
                    return HttpResponseRedirect(add_preserved_filters(kept, page))
                return None
            for errors in form.errors.values():
                for error in errors:
                    modeladmin.message_user(request, str(error), messages.ERROR)
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": action.description,
            "explains": action.explains,
            "payments": queryset,
            "listed": [(payment, uzs(payment.amount)) for payment in queryset],
            "settled_by_hand": [(s.value, s.label) for s in operations.SETTLED_BY_HAND],
            "action": action.name,
            "choose_status": action.choose_status,
            "opts": modeladmin.model._meta,
            "reason": request.POST.get("reason", "").strip(),
        }
        return TemplateResponse(request, "admin/payments/payment/confirm_action.html", context)

    run.__name__ = action.name
    return run


def _level(done: bool, outcome: Reason) -> int:
    """A refusal is an error; an action that changed nothing is information, not success."""
    if not done:
        return messages.ERROR
    return messages.INFO if changed_nothing(outcome) else messages.SUCCESS


ADMIN_ACTIONS = [admin_action(action) for action in ACTIONS]
BY_NAME = {action.name: action for action in ACTIONS}
