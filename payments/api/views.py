"""Thin API views: validate, call one service, answer in the envelope."""

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.api.authentication import calling_register
from payments.api.envelope import EnvelopeJSONRenderer, exception_handler, success
from payments.api.schema import answers
from payments.api.serializers import (
    ClickChargeOutput,
    ClickConfirmInput,
    ClickConfirmOutput,
    HumoInput,
    HumoOutput,
    HumoReportOutput,
    PaymeChargeOutput,
    PaymeConfirmInput,
    PaymeConfirmOutput,
    PaymentStatusOutput,
    QrChargeInput,
    UzumChargeInput,
    UzumChargeOutput,
    UzumConfirmInput,
    UzumConfirmOutput,
    billing_refusal,
    pinpad_refusal,
)
from payments.errors import ApplicationError, ErrorCode
from payments.middleware import note_transaction
from payments.models import IdempotencyKey, Payment, PaymentStatus
from payments.selectors import payment_by_transaction_id
from payments.services import end_of_day, idempotency, reversals
from payments.services.charging import charge
from payments.services.fiscal import submit_receipt
from payments.services.reconnect import CONNECTION_ERRORS

logger = logging.getLogger(__name__)


class IdempotentView(APIView):
    """A POST endpoint that honours `Idempotency-Key`: the first answer is kept and a replay
    of the same request gets it unchanged; the same key with another request is code 106;
    a replay while the first still runs (or its outcome is open) is code 110.

    A subclass validates and calls one service in `run`, which returns the payment the
    request is about; `answer` renders it (a refusal raises)."""

    # The key's row while its first request runs: told the payment the moment it exists.
    key_row: IdempotencyKey | None = None

    def post(self, request: Request) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self.answer(self.run(request))
        if not key.strip() or len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["Must be 1 to 255 characters."]})
        # Parsed first: a body the parser refuses (not JSON, too large, nested too deep) is
        # code 7 before any key is claimed.
        request_hash = idempotency.fingerprint("POST", request.path, request.data)
        row, first = idempotency.claim(calling_register(request), key, request_hash)
        if first:
            self.key_row = row
            return self._remembered(row, request, lambda: self.run(request))
        if row.request_hash != request_hash:
            raise ApplicationError.conflict("idempotency_key_reused")
        row, known = idempotency.bound_payment(row)
        if not known:
            raise ApplicationError.outcome_unknown(None)
        if row.response_body is not None:
            return HttpResponse(
                row.response_body.encode(),
                status=row.response_status,
                content_type="application/json; charset=utf-8",
            )
        # Still running, or its outcome was open: answer from the payment as it stands now
        # (reconcile may have settled it), never by running it again.
        register = calling_register(request)
        payment = payment_by_transaction_id(str(row.transaction_id or ""), register=register)
        if payment is None:
            raise ApplicationError.outcome_unknown(row.transaction_id)
        return self._remembered(row, request, lambda: payment, replay=True)

    def _remembered(
        self,
        row: IdempotencyKey,
        request: Request,
        produce: Callable[[], Payment],
        replay: bool = False,
    ) -> Response:
        payment: Payment | None = None
        try:
            payment = produce()
            response = self.replay_answer(payment) if replay else self.answer(payment)
        except Exception as exc:  # every answer is remembered, errors too
            response = exception_handler(exc, {"request": request})
        rendered = EnvelopeJSONRenderer().render(response.data).decode()
        transaction_id = str(payment.transaction_id) if payment is not None else None
        try:
            idempotency.remember(row, response.status_code, response.data, rendered, transaction_id)
        except CONNECTION_ERRORS:
            # Our database is gone for now. The answer still goes out: the key already knows
            # its payment (bound when the payment was made), so a replay answers from it.
            logger.exception("could not remember the answer under key %s", row.key)
        return response

    def run(self, request: Request) -> Payment:
        raise NotImplementedError

    def payment_made(self, payment: Payment) -> None:
        """Services call this in the transaction that makes (or finds) the payment."""
        note_transaction(payment.transaction_id)
        if self.key_row is not None:
            idempotency.bind(self.key_row, payment)

    def answer(self, payment: Payment) -> Response:
        raise NotImplementedError

    def replay_answer(self, payment: Payment) -> Response:
        """The answer to a replay whose first answer was open, from the payment now."""
        raise ApplicationError.outcome_unknown(payment.transaction_id)


class ChargeView(IdempotentView):
    """A charge: the register hears the payment's outcome in the provider's own shape."""

    output_serializer: type[serializers.Serializer] = serializers.Serializer
    refusal: Callable[[Payment], ApplicationError] = staticmethod(billing_refusal)

    def answer(self, payment: Payment) -> Response:
        if payment.status == PaymentStatus.PAID:
            return success(self.output_serializer(payment).data)
        if payment.register_hung_up:
            # Nothing was sent: no provider's refusal to tell, and nothing was charged.
            raise ApplicationError.conflict(
                "register_hung_up", transaction_id=str(payment.transaction_id)
            )
        if payment.status == PaymentStatus.FAILED:
            raise self.refusal(payment)
        if payment.is_open:
            # The register must not charge again; it asks the status.
            raise ApplicationError.outcome_unknown(payment.transaction_id)
        raise ApplicationError.conflict("reversed", transaction_id=str(payment.transaction_id))

    def replay_answer(self, payment: Payment) -> Response:
        return self.answer(payment)


class QrChargeView(ChargeView):
    """POST a scanned code and an amount; the provider is charged once."""

    provider = ""
    input_serializer: type[serializers.Serializer] = QrChargeInput

    def run(self, request: Request) -> Payment:
        given = self.input_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        return charge(
            register=calling_register(request),
            provider=self.provider,
            on_payment=self.payment_made,
            on_payment_writes=self.key_row is not None,
            **given.validated_data,
        )


class FiscalConfirmView(IdempotentView):
    """POST the fiscal receipt URL of a paid payment; it is passed to the provider once."""

    provider = ""
    input_serializer: type[serializers.Serializer] = serializers.Serializer
    reference_field = "payment_id"
    receipt_field = "qrcode"

    def run(self, request: Request) -> Payment:
        given = self.input_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        return submit_receipt(
            register=calling_register(request),
            provider=self.provider,
            reference=given.validated_data[self.reference_field],
            receipt=given.validated_data[self.receipt_field],
            on_payment=self.payment_made,
        )


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters. A replay with the same key and body returns the first answer "
        "unchanged; the same key with another body is code 106; while the first request "
        "runs, or its outcome is open, code 110. Keys live 24 hours."
    ),
)


# The error codes each kind of endpoint answers with (HTTP 200), beside 111 and 103.
QR_CODES = (
    ErrorCode.VALIDATION,
    ErrorCode.INTERNAL,
    ErrorCode.BILLING,
    ErrorCode.PAYMENT,
    ErrorCode.OUTCOME_UNKNOWN,
)
HUMO_CODES = (
    ErrorCode.VALIDATION,
    ErrorCode.INTERNAL,
    ErrorCode.PAYMENT,
    ErrorCode.XUMO,
    ErrorCode.OUTCOME_UNKNOWN,
)


def _post_schema(
    operation_id: str,
    summary: str,
    request: type,
    output: type,
    doc: str,
    codes: tuple[ErrorCode, ...] = QR_CODES,
) -> Any:
    """The OpenAPI description of a POST endpoint whose data is `output` in the envelope."""
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            request=request,
            responses=answers(output, codes),
            description=doc,
            parameters=[IDEMPOTENCY_KEY],
        )
    )


def _charge_schema(
    operation_id: str, label: str, output: type, how: str, request: type = QrChargeInput
) -> Any:
    return _post_schema(
        operation_id,
        f"Charge a {label} code",
        request,
        output,
        f"Creates the payment and {how}; then answers the outcome. The same code again "
        "returns the first outcome without a second charge (another amount: code 106). "
        "Code 104: the provider declined (its own code and text in error.data). "
        "Code 110: not settled yet; do not charge again, ask "
        "GET /payment/status/{transaction_id}.",
    )


def _confirm_schema(operation_id: str, label: str, request: type, output: type, how: str) -> Any:
    return _post_schema(
        operation_id,
        f"Pass the fiscal receipt of a {label} payment to {label}",
        request,
        output,
        f"{how} The same URL again answers the same without calling {label} twice; "
        "another URL after success is code 106.",
    )


@_charge_schema(
    "click_charge", "CLICK PASS", ClickChargeOutput, "charges the code once through CLICK"
)
class ClickChargeView(QrChargeView):
    provider = "click"
    output_serializer = ClickChargeOutput


@_confirm_schema(
    "click_confirm",
    "CLICK",
    ClickConfirmInput,
    ClickConfirmOutput,
    "`qr_code` is accepted as an alias of `qrcode`.",
)
class ClickConfirmView(FiscalConfirmView):
    provider = "click"
    input_serializer = ClickConfirmInput

    def answer(self, payment: Payment) -> Response:
        return success(ClickConfirmOutput(payment).data)


@_charge_schema(
    "payme_charge",
    "PAYME GO",
    PaymeChargeOutput,
    "a Payme receipt for the amount, which it pays once with the code",
)
class PaymeChargeView(QrChargeView):
    provider = "payme"
    output_serializer = PaymeChargeOutput


@_confirm_schema(
    "payme_confirm",
    "Payme",
    PaymeConfirmInput,
    PaymeConfirmOutput,
    "`payment_id` and `qr_code` are accepted as aliases of `payme_id` and `qr_code_url`. "
    "`receipt_id` and `fiscal_sign` may be left out (they are read from the URL); given, "
    "they must match it. `data` is Payme's JSON-RPC answer.",
)
class PaymeConfirmView(FiscalConfirmView):
    provider = "payme"
    input_serializer = PaymeConfirmInput
    reference_field = "payme_id"
    receipt_field = "qr_code_url"

    def answer(self, payment: Payment) -> Response:
        return success(payment.fiscal_response)


@_charge_schema(
    "uzum_charge",
    "Uzum Fast Pay",
    UzumChargeOutput,
    "charges the code once through Uzum",
    request=UzumChargeInput,
)
class UzumChargeView(QrChargeView):
    provider = "uzum"
    input_serializer = UzumChargeInput
    output_serializer = UzumChargeOutput


@_confirm_schema(
    "uzum_confirm",
    "Uzum",
    UzumConfirmInput,
    UzumConfirmOutput,
    "`qr_code` is the receipt's OFD URL; `qrcode` is accepted as its alias.",
)
class UzumConfirmView(FiscalConfirmView):
    provider = "uzum"
    input_serializer = UzumConfirmInput
    receipt_field = "qr_code"

    def answer(self, payment: Payment) -> Response:
        return success(UzumConfirmOutput(payment).data)


@_post_schema(
    "xumo",
    "A HUMO card purchase, or the reversal of one, on the PIN pad",
    HumoInput,
    HumoOutput,
    "A purchase of `amount` tiyin; with `is_return: true` and `request_id` (the purchase's "
    "RRN), the reversal (a cancel on the terminal) of that purchase of the current shift, "
    "which marks it reversed. "
    "`message` is the bank slip, `ppt_id` the RRN. Code 108: the PIN pad declined (its host "
    "code and slip in error.data), is busy or unreachable; nothing was charged. Code 110: "
    "the answer was lost and the terminal could not say what happened; do not repeat, ask "
    "GET /payment/status/{transaction_id}.",
    codes=HUMO_CODES,
)
class HumoView(ChargeView):
    provider = "humo"
    output_serializer = HumoOutput
    refusal = staticmethod(pinpad_refusal)

    def run(self, request: Request) -> Payment:
        given = HumoInput(data=request.data)
        given.is_valid(raise_exception=True)
        amount = given.validated_data["amount"]
        if not given.validated_data["is_return"]:
            return charge(
                register=calling_register(request),
                provider=self.provider,
                amount=amount,
                on_payment=self.payment_made,
            )
        rrn = given.validated_data["request_id"]
        return reversals.reverse_by_reference(
            self.provider,
            rrn,
            register=calling_register(request),
            amount=amount,
            on_payment=self.payment_made,
        )


class HumoCloseView(APIView):
    @extend_schema(
        operation_id="xumo_close",
        summary="End-of-day reconciliation on the PIN pad",
        responses=answers(
            HumoReportOutput, (ErrorCode.INTERNAL, ErrorCode.PAYMENT, ErrorCode.XUMO)
        ),
        description="`message` is the terminal's report. Code 108 when it cannot be run; "
        "code 106 `no_account` when the register has no PIN pad.",
    )
    def get(self, request: Request) -> Response:
        closed = end_of_day.close_day(HumoView.provider, calling_register(request))
        return success({"message": closed.report, "ppt_id": None})

    def head(self, request: Request) -> Response:
        # Django would answer HEAD by running GET: here that would close the shift.
        raise exceptions.MethodNotAllowed("HEAD")


class PaymentStatusView(APIView):
    @extend_schema(
        operation_id="payment_status",
        summary="A payment as it stands now",
        parameters=[
            OpenApiParameter(
                "transaction_id",
                OpenApiTypes.UUID,
                OpenApiParameter.PATH,
                description="Our transaction id, from the answer that made the payment.",
            )
        ],
        responses=answers(
            PaymentStatusOutput, (ErrorCode.INTERNAL, ErrorCode.PAYMENT), not_found=True
        ),
        description="Code 106 with reason not_found when there is no such payment (or it is "
        "another register's). HTTP 404 (code 404) when the path holds no id at all.",
    )
    def get(self, request: Request, transaction_id: str) -> Response:
        # Another register's payment is as unknown as one that does not exist.
        payment = payment_by_transaction_id(transaction_id, register=calling_register(request))
        if payment is None:
            raise ApplicationError.conflict("not_found", transaction_id=transaction_id)
        return success(PaymentStatusOutput(payment).data)


class UnknownPathView(APIView):
    """The last URL pattern: any path nobody else routes answers 404 in the envelope."""

    schema = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise exceptions.NotFound()
