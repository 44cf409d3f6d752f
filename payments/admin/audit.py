"""The audit trail: who ran which action on which payment, why, and what came of it."""

from django.contrib import admin

from payments.admin.base import ViewOnlyAdmin
from payments.models import OperatorAction


@admin.register(OperatorAction)
class OperatorActionAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "user", "action", "payment", "reason", "outcome"]
    list_filter = ["action"]
    search_fields = ["payment__transaction_id", "user__username"]
