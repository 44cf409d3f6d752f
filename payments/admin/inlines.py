"""A payment's story on its page: the timeline, the journal, the operators' actions."""

import json
from decimal import Decimal

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from payments.admin.base import ReadOnlyInline, preformatted
from payments.models import OperatorAction, PaymentEvent, ProviderExchange
from providers.money import json_text


class TimelineInline(ReadOnlyInline):
    model = PaymentEvent
    verbose_name_plural = _("Timeline")
    fields = readonly_fields = ["created_at", "change", "actor", "reason"]

    @admin.display(description=_("change"))
    def change(self, event: PaymentEvent) -> str:
        parts = []
        if event.to_status:
            parts.append(f"{event.from_status} → {event.to_status}")
        if event.to_fiscal_status:
            parts.append(
                _("fiscal %(was)s → %(now)s")
                % {"was": event.from_fiscal_status, "now": event.to_fiscal_status}
            )
        return "; ".join(parts)


class JournalInline(ReadOnlyInline):
    model = ProviderExchange
    verbose_name_plural = _("Journal (every exchange with the provider or the PIN pad)")
    fields = readonly_fields = [
        "created_at",
        "operation",
        "response_status",
        "error",
        "duration_ms",
        "request",
        "response",
    ]

    @admin.display(description=_("request"))
    def request(self, row: ProviderExchange) -> str:
        shown = {"url": row.url, "headers": row.request_headers, "body": row.request_body}
        return preformatted(json_text(shown, indent=2))

    @admin.display(description=_("response"))
    def response(self, row: ProviderExchange) -> str:
        try:
            # Numbers with a fraction stay exactly as the provider wrote them.
            answer = json.loads(row.response_body, parse_float=Decimal)
            return preformatted(json_text(answer, indent=2))
        except ValueError:
            return preformatted(row.response_body)


class AuditInline(ReadOnlyInline):
    model = OperatorAction
    verbose_name_plural = _("Operator actions")
    fields = readonly_fields = ["created_at", "user", "action", "reason", "outcome"]
