"""The payment record, its timeline and the journal of every exchange with a provider.

Money is integer tiyin everywhere (1 UZS = 100 tiyin). A payment is created and changed
only through `payments.store`, as `payments.states` decides.
"""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from payments import states
from providers import base
from providers.money import ExactJSONDecoder, ExactJSONEncoder
from providers.registry import GATEWAYS


def provider_choices() -> list[tuple[str, str]]:
    """The providers the registry knows: a new provider needs no migration."""
    return [(gateway.name, gateway.label) for gateway in GATEWAYS.values()]


# The state machine's statuses (payments.states), as the database stores them and people
# read them.
class PaymentStatus(models.TextChoices):
    CREATED = states.Status.CREATED.value, _("Created")
    PROCESSING = states.Status.PROCESSING.value, _("Processing")
    PAID = states.Status.PAID.value, _("Paid")
    FAILED = states.Status.FAILED.value, _("Failed")
    UNKNOWN = states.Status.UNKNOWN.value, _("Outcome unknown")
    REVERSED = states.Status.REVERSED.value, _("Reversed")


class FiscalStatus(models.TextChoices):
    NOT_REQUIRED = states.Fiscal.NOT_REQUIRED.value, _("Not required")
    PENDING = states.Fiscal.PENDING.value, _("Waiting for the receipt")
    SUBMITTED = states.Fiscal.SUBMITTED.value, _("Submitted")
    FAILED = states.Fiscal.FAILED.value, _("Submission failed")


def label_of(choices: type[models.TextChoices], value: str) -> str:
    """A stored value as people read it, in the active language; one the choices do not
    know (an old row, a provider's own word) as it is."""
    return str(choices(value).label) if value in choices.values else value


# The gateways' one enum of operations, stored as its values and shown by these labels.
Operation = base.Operation
OPERATION_CHOICES = [
    (Operation.PURCHASE.value, _("Purchase")),
    (Operation.REVERSAL.value, _("Reversal of a purchase")),
]


FISCAL_SENDING_ABANDONED = states.FISCAL_SENDING_ABANDONED
# A payment in one of these may still change on its own: nobody knows its outcome yet.
OPEN_STATUSES = states.OPEN
# The provider has no receipt for these yet: the register's is awaited, or was refused.
FISCAL_BACKLOG_STATUSES = (FiscalStatus.FAILED, FiscalStatus.PENDING)


# Our own provider_status of a payment failed before it was sent: its register had closed
# the connection while the request waited (payments.peer).
REGISTER_HUNG_UP = "register_hung_up"


class Payment(models.Model):
    transaction_id = models.UUIDField(
        _("transaction id"),
        unique=True,
        default=uuid.uuid4,
        editable=False,
        help_text=_("Our id, made before any call."),
    )
    provider = models.CharField(_("provider"), max_length=16, choices=provider_choices)
    register = models.ForeignKey(
        "payments.Register",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("register"),
        help_text=_("The register that asked for it: only it sees the payment."),
    )
    operation = models.CharField(
        _("operation"), max_length=16, choices=OPERATION_CHOICES, default=Operation.PURCHASE
    )
    # A reversal that is an operation of its own points at the purchase it reverses.
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        db_index=False,  # indexed below, for the reversals only
    )
    amount = models.BigIntegerField(
        _("amount"), help_text=_("Amount in tiyin (1 UZS = 100 tiyin).")
    )
    reversed_amount = models.BigIntegerField(
        _("reversed amount"),
        default=0,
        help_text=_("Of a purchase: how much of it reversals gave back, in tiyin."),
    )
    qr_code = models.CharField(
        _("qr code"),
        # Uzum Fast Pay codes run to 128 characters.
        max_length=128,
        null=True,
        blank=True,
        help_text=_("The code scanned (CLICK PASS, PAYME GO, Uzum Fast Pay)."),
    )
    # The provider's id: CLICK's payment id, Payme's receipt id, Uzum's payment id, the RRN
    # of a HUMO operation.
    provider_payment_id = models.CharField(
        _("provider payment id"), max_length=64, blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    # The provider's own words, kept verbatim: its status value, its error code and text.
    # The provider's word for the payment's state; REGISTER_HUNG_UP where it never heard of
    # it because the register had gone before it was sent.
    provider_status = models.CharField(_("provider status"), max_length=32, blank=True, default="")
    provider_code = models.CharField(_("provider code"), max_length=32, blank=True, default="")
    provider_message = models.TextField(_("provider message"), blank=True, default="")
    fiscal_status = models.CharField(
        _("fiscal status"),
        max_length=16,
        choices=FiscalStatus.choices,
        default=FiscalStatus.NOT_REQUIRED,
    )
    fiscal_receipt_url = models.CharField(
        _("fiscal receipt url"), max_length=500, blank=True, default=""
    )
    fiscal_error = models.TextField(_("fiscal error"), blank=True, default="")
    fiscal_response = models.JSONField(
        _("fiscal response"),
        null=True,
        blank=True,
        help_text=_("The provider's answer that accepted the receipt."),
    )
    fiscal_attempts = models.PositiveIntegerField(_("fiscal attempts"), default=0)
    fiscal_next_attempt_at = models.DateTimeField(
        _("fiscal next attempt at"),
        null=True,
        blank=True,
        help_text=_("When retry_fiscal sends a failed receipt again."),
    )
    # One submission of a receipt at a time: the one being sent, and since when.
    fiscal_sending_url = models.CharField(
        _("fiscal sending url"), max_length=500, blank=True, default=""
    )
    fiscal_sending_since = models.DateTimeField(_("fiscal sending since"), null=True, blank=True)
    payer_phone = models.CharField(_("payer phone"), max_length=32, blank=True, default="")
    masked_card = models.CharField(_("masked card"), max_length=32, blank=True, default="")
    auth_code = models.CharField(_("auth code"), max_length=16, blank=True, default="")
    terminal_id = models.CharField(_("terminal id"), max_length=16, blank=True, default="")
    slip_text = models.TextField(
        _("slip text"), blank=True, default="", help_text=_("The bank slip, as printed.")
    )
    needs_attention = models.BooleanField(
        _("needs attention"),
        default=False,
        help_text=_("Set when the service could not settle the payment by itself."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            # A scanned code is charged at most once per provider, whatever the races: the
            # second insert fails and the request answers with the first one's outcome.
            # The code leads, so the operators' search by code alone uses it too.
            models.UniqueConstraint(
                fields=["qr_code", "provider"],
                condition=Q(qr_code__isnull=False),
                name="payment_qr_code_once_per_provider",
            ),
            # The provider's id leads, so the search by that id alone uses it too.
            models.UniqueConstraint(
                fields=["provider_payment_id", "provider"],
                condition=~Q(provider_payment_id=""),
                name="payment_provider_id_unique",
            ),
            # One reversal of a purchase at a time: while one is open, another would not know
            # how much is left to give back.
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False) & Q(status__in=sorted(OPEN_STATUSES)),
                name="payment_one_open_reversal",
            ),
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0) & Q(reversed_amount__lte=F("amount")),
                name="payment_reversed_within_amount",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_known"
            ),
            models.CheckConstraint(
                condition=Q(fiscal_status__in=FiscalStatus.values),
                name="payment_fiscal_status_known",
            ),
        ]
        # Each index costs every charge an entry on insert and another on each change of
        # status (such an update is never HOT), so a column that is empty on most rows is
        # indexed only where it is not, and the unique constraints above serve the search
        # by code and by the provider's id. An equality with a non-empty term implies the
        # partial indexes' conditions, so the planner still uses them.
        indexes = [
            models.Index(fields=["status", "created_at"], name="payment_status_created"),
            # The operators' search box looks a payment up by its payer's phone, exactly.
            models.Index(
                fields=["payer_phone"], condition=~Q(payer_phone=""), name="payment_payer_phone"
            ),
            # One receipt URL belongs to one payment: checked on every confirm.
            models.Index(
                fields=["fiscal_receipt_url"],
                condition=~Q(fiscal_receipt_url=""),
                name="payment_fiscal_receipt",
            ),
            # A purchase's reversals (the admin's links, what is left to give back).
            models.Index(
                fields=["reverses"], condition=Q(reverses__isnull=False), name="payment_reversals"
            ),
            # Monitoring counts these at every scrape, retry_fiscal takes them up, and the
            # overview lists the overdue ones, latest paid first; they are few among a
            # million.
            models.Index(
                fields=["fiscal_status", "paid_at"],
                condition=Q(fiscal_status__in=FISCAL_BACKLOG_STATUSES),
                name="payment_fiscal_backlog",
            ),
            models.Index(
                fields=["provider"], condition=Q(needs_attention=True), name="payment_flagged"
            ),
        ]
        permissions = [
            ("check_status", "Can ask the provider for a payment's status"),
            ("retry_fiscal", "Can send a fiscal receipt again"),
            ("reverse_payment", "Can reverse a paid payment"),
            ("settle_payment", "Can settle an unknown payment by hand"),
            ("export_payments", "Can export the payment list as CSV"),
            ("view_personal_data", "Can see payers' phones and cards whole"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.transaction_id} ({self.get_status_display()})"

    # --- what people ask of a payment ------------------------------------------------

    @property
    def register_hung_up(self) -> bool:
        """Failed unsent: its register had gone before the provider would have heard of it."""
        return self.status == PaymentStatus.FAILED and self.provider_status == REGISTER_HUNG_UP

    @property
    def is_refund(self) -> bool:
        """Money given back: a refund (a reversal of a purchase), not a purchase."""
        return self.operation == Operation.REVERSAL

    @property
    def is_open(self) -> bool:
        """Its outcome is not known yet: a provider (or a person) may still settle it."""
        return self.status in OPEN_STATUSES

    @property
    def can_reverse(self) -> bool:
        """A paid purchase with money left to give back (one refund at a time: a second
        one while another is open is refused when it is made)."""
        return (
            self.status == PaymentStatus.PAID
            and self.operation == Operation.PURCHASE
            and self.reversible_amount > 0
        )

    @property
    def reversible_amount(self) -> int:
        """What reversals may still give back, in tiyin."""
        return self.amount - self.reversed_amount

    @property
    def can_settle_by_hand(self) -> bool:
        """Sent, outcome unknown: a person who found the answer may settle it."""
        return states.can_settle_by_hand(self.status)

    @property
    def can_retry_fiscal(self) -> bool:
        """Its receipt was refused and can be sent again."""
        return self.fiscal_status == FiscalStatus.FAILED and bool(self.fiscal_receipt_url)


class PaymentEvent(models.Model):
    """One change of a payment's status or fiscal status, or of its need of a person: the
    payment's timeline."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="events", verbose_name=_("payment")
    )
    from_status = models.CharField(_("from status"), max_length=16, blank=True, default="")
    to_status = models.CharField(_("to status"), max_length=16, blank=True, default="")
    from_fiscal_status = models.CharField(
        _("from fiscal status"), max_length=16, blank=True, default=""
    )
    to_fiscal_status = models.CharField(
        _("to fiscal status"), max_length=16, blank=True, default=""
    )
    # True: the change asked for a person; False: it said none is needed any more.
    flagged = models.BooleanField(_("needs attention"), null=True, blank=True, default=None)
    actor = models.CharField(
        _("actor"), max_length=150, default="system", help_text=_("Who or what changed it.")
    )
    # Why, as a code and its parameters (payments.reasons), said in the operator's language
    # where it is shown.
    reason = models.CharField(_("reason"), max_length=255)
    reason_data = models.JSONField(_("reason's details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("timeline step")
        verbose_name_plural = _("timeline")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status}->{self.to_status} ({self.reason})"


class ProviderExchange(models.Model):
    """The journal: one row per request to a provider, with secrets already redacted."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="exchanges", null=True, blank=True
    )
    # Whose account or terminal it went through (an end of day belongs to no payment).
    register = models.ForeignKey(
        "payments.Register",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,  # it leads the line's index below
    )
    provider = models.CharField(_("provider"), max_length=16, choices=provider_choices)
    operation = models.CharField(_("operation"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    url = models.CharField(_("url"), max_length=500)
    request_headers = models.JSONField(_("request headers"), default=dict)
    # An amount sent as a Decimal number is kept, and read back, exactly as it was sent.
    request_body = models.JSONField(
        _("request body"), null=True, blank=True, encoder=ExactJSONEncoder, decoder=ExactJSONDecoder
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True, default="")
    error = models.CharField(
        _("error"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("Transport failure, if any."),
    )
    duration_ms = models.PositiveIntegerField(_("duration ms"), default=0)
    started_at = models.DateTimeField(
        _("started at"),
        null=True,
        blank=True,
        help_text=_("When the request went out (the PIN pad: the line taken)."),
    )
    # Not indexed: every exchange would pay for it, and the journal is read by payment.
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("journal")
        ordering = ["created_at", "id"]
        indexes = [
            # A register's shift at a terminal: its operations between two ends of day, in
            # line order. The register leads, so it also serves the foreign key.
            models.Index(
                fields=["register", "provider", "operation", "started_at"],
                name="exchange_line_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.operation} -> {self.response_status or self.error}"


class IdempotencyKey(models.Model):
    """A register's Idempotency-Key: the first answer, kept for replays of the same request.

    The row is written before the request runs; until its answer is final it has none,
    and a replay hears code 110 (with the payment's transaction id once it is known).
    """

    register = models.ForeignKey(
        "payments.Register", on_delete=models.CASCADE, related_name="+", verbose_name=_("register")
    )
    key = models.CharField(_("key"), max_length=255)
    request_hash = models.CharField(
        _("request hash"), max_length=64, help_text=_("SHA-256 of method, path, body.")
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    # The answer exactly as it was sent (text, not JSON: a replay must be the same bytes).
    response_body = models.TextField(_("response body"), null=True, blank=True)
    transaction_id = models.UUIDField(_("transaction id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            # Keys are the register's own: two registers may well pick the same one.
            models.UniqueConstraint(fields=["register", "key"], name="idempotency_key_per_register")
        ]

    def __str__(self) -> str:
        return self.key


class OperatorAction(models.Model):
    """The audit trail: who ran which admin action on which payment, why, and what came of it."""

    user = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("operator")
    )
    action = models.CharField(_("action"), max_length=32)
    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        related_name="operator_actions",
        verbose_name=_("payment"),
    )
    reason = models.TextField(_("reason"))  # the operator's own words
    # What came of it, as a code and its parameters (payments.reasons), said in the
    # language of whoever reads the audit trail.
    outcome = models.CharField(_("outcome"), max_length=255, blank=True, default="")
    outcome_data = models.JSONField(_("outcome's details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("operator action")
        verbose_name_plural = _("operator actions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.payment_id}"
