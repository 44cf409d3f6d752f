"""The audit trail: who ran which action on which payment, why, and what came of it."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from payments.admin.base import ViewOnlyAdmin
from payments.admin.outcomes import action_outcome
from payments.models import OperatorAction


@admin.register(OperatorAction)
class OperatorActionAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "user", "action", "payment", "reason", "what_came_of_it"]
    list_filter = ["action"]
    search_fields = ["payment__transaction_id", "user__username"]

    @admin.display(description=_("outcome"))
    def what_came_of_it(self, action: OperatorAction) -> str:
        return action_outcome(action) if action.outcome else ""
