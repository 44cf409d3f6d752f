"""The audit trail: who ran which action on which payment, why, and what came of it."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from payments.admin.actions import BY_NAME
from payments.admin.base import ViewOnlyAdmin, moment, short_id
from payments.admin.outcomes import action_outcome
from payments.models import OperatorAction


class ActionFilter(admin.SimpleListFilter):
    """By action, each said as its button says it (not its code)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, str(action.description)) for name, action in BY_NAME.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(OperatorAction)
class OperatorActionAdmin(ViewOnlyAdmin):
    list_display = ["created", "user", "what", "transaction", "reason", "what_came_of_it"]
    list_filter = [ActionFilter]
    search_fields = ["payment__transaction_id", "user__username"]
    list_select_related = ["payment", "user"]

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, action: OperatorAction) -> str:
        return moment(action.created_at)

    @admin.display(description=_("action"), ordering="action")
    def what(self, action: OperatorAction) -> str:
        known = BY_NAME.get(action.action)
        return str(known.description) if known else action.action

    @admin.display(description=_("transaction"))
    def transaction(self, action: OperatorAction) -> str:
        return short_id(action.payment.transaction_id)

    @admin.display(description=_("outcome"))
    def what_came_of_it(self, action: OperatorAction) -> str:
        return action_outcome(action) if action.outcome else ""
