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
    HumoReprintOutput,
    PaymeChargeOutput,
    PaymeConfirmInput,
    PaymeConfirmOutput,
    PaymentStatusOutput,
    QrChargeInput,
    RefundInput,
    RefundOutput,
    UzumChargeInput,
    UzumChargeOutput,
    UzumConfirmInput,
    UzumConfirmOutput,
    billing_refusal,
    pinpad_refusal,
)
from payments.errors import ApplicationError, ErrorCode
from payments.models import IdempotencyKey, Payment, PaymentStatus
from payments.selectors import payment_by_transaction_id
from payments.services import end_of_day, idempotency, reversals
from payments.services.charging import charge
from payments.services.fiscal import submit_receipt
from payments.services.idempotency import Answer

logger = logging.getLogger(__name__)


JSON = "application/json; charset=utf-8"


class IdempotentView(APIView):
    """A POST endpoint that honours `Idempotency-Key` (`idempotency.run_once`): the first
    answer is kept and a replay of the same request gets it unchanged; the same key with
    another request is code 106; a replay while the first still runs (or its outcome is
    open) is code 110, or the payment's answer as it stands now.

    A subclass validates and calls one service in `run`, which returns the payment the
    request is about; `answer` renders it (a refusal raises)."""

    def post(self, request: Request) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self.answer(self.run(request, None))
        if not key.strip() or len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["Must be 1 to 255 characters."]})
        # Parsed first: a body the parser refuses (not JSON, too large, nested too deep) is
        # code 7 before any key is claimed.
        request_hash = idempotency.fingerprint("POST", request.path, request.data)
        answer = idempotency.run_once(
            calling_register(request),
            key,
            request_hash,
            work=lambda claimed: self.run(request, claimed),
            respond=lambda outcome, replay: self._respond(request, outcome, replay),
        )
        return HttpResponse(
            answer.body.encode(),
            status=answer.status,
            content_type="application/json; charset=utf-8",
        )

    def _respond(self, request: Request, outcome: Payment | Exception, replay: bool) -> Answer:
        """The envelope for a payment (or the error that stood for it), as sent."""
        try:
            if isinstance(outcome, Exception):
                raise outcome
            response = self.replay_answer(outcome) if replay else self.answer(outcome)
        except Exception as exc:
            response = exception_handler(exc, {"request": request})
        rendered = EnvelopeJSONRenderer().render(response.data).decode()
        return Answer(response.status_code, response.data, rendered)

    def run(self, request: Request, key: IdempotencyKey | None) -> Payment:
        raise NotImplementedError

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

    def run(self, request: Request, key: IdempotencyKey | None) -> Payment:
        given = self.input_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        return charge(
            register=calling_register(request),
            provider=self.provider,
            key=key,
            **given.validated_data,
        )


class FiscalConfirmView(IdempotentView):
    """POST the fiscal receipt URL of a paid payment; it is passed to the provider once."""

    provider = ""
    input_serializer: type[serializers.Serializer] = serializers.Serializer
    reference_field = "payment_id"
    receipt_field = "qrcode"

    def run(self, request: Request, key: IdempotencyKey | None) -> Payment:
        given = self.input_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        return submit_receipt(
            register=calling_register(request),
            provider=self.provider,
            reference=given.validated_data[self.reference_field],
            receipt=given.validated_data[self.receipt_field],
            key=key,
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

    def run(self, request: Request, key: IdempotencyKey | None) -> Payment:
        given = HumoInput(data=request.data)
        given.is_valid(raise_exception=True)
        amount = given.validated_data["amount"]
        register = calling_register(request)
        if not given.validated_data["is_return"]:
            return charge(register=register, provider=self.provider, amount=amount, key=key)
        rrn = given.validated_data["request_id"]
        try:
            return reversals.refund_by_reference(
                rrn, provider=self.provider, register=register, amount=amount, key=key
            )
        except ApplicationError as exc:
            raise _as_return_said_it(exc) from exc


@_post_schema(
    "refund",
    "Give a purchase's money back, whole or in part",
    RefundInput,
    RefundOutput,
    "One endpoint for CLICK, Payme, Uzum and HUMO purchases. `amount` absent: all that is "
    "not given back yet. CLICK and HUMO give back parts; Payme and Uzum only the whole "
    "purchase (a part is code 106 `partial_reversal_not_supported`, nothing sent). Code 106 "
    "reasons: `not_found`, `not_paid`, `already_reversed`, `amount_exceeds` (with "
    "`reversible_amount`), `refund_in_progress`, `partial_reversal_not_supported`. Code 104 "
    "(108 for HUMO): the provider refused, with its code and text. Code 110: nobody can tell "
    "yet; do not send it again, GET /payment/status/{transaction_id} of the refund.",
    codes=QR_CODES + (ErrorCode.XUMO,),
)
class RefundView(IdempotentView):
    def run(self, request: Request, key: IdempotencyKey | None) -> Payment:
        given = RefundInput(data=request.data)
        given.is_valid(raise_exception=True)
        return reversals.refund_by_reference(
            str(given.validated_data["transaction_id"]),
            register=calling_register(request),
            amount=given.validated_data.get("amount"),
            key=key,
        )

    def answer(self, refund: Payment) -> Response:
        if refund.status in (PaymentStatus.PAID, PaymentStatus.PROCESSING):
            return success(RefundOutput(refund).data)
        if refund.register_hung_up:
            raise ApplicationError.conflict(
                "register_hung_up", transaction_id=str(refund.transaction_id)
            )
        if refund.status == PaymentStatus.FAILED:
            refusal = pinpad_refusal if refund.provider == HumoView.provider else billing_refusal
            raise refusal(refund)
        raise ApplicationError.outcome_unknown(refund.transaction_id)

    def replay_answer(self, refund: Payment) -> Response:
        return self.answer(refund)


def _as_return_said_it(exc: ApplicationError) -> ApplicationError:
    """A refusal of a return in the words `/payment/xumo` has always used, which registers
    read (`/payment/refund` says `amount_exceeds` and `refund_in_progress`)."""
    data = dict(exc.data or {})
    reason = data.get("reason")
    if reason == "refund_in_progress":
        data["reason"] = "cancel_in_progress"
    elif reason == "amount_exceeds":
        data = {
            "reason": "amount_exceeds_purchase",
            "purchase_amount": data["purchase_amount"],
            "returnable_amount": data["reversible_amount"],
        }
    else:
        return exc
    return ApplicationError(exc.code, data)


# What a report the PIN pad prints answers (the end of day's, the shift's so far).
HUMO_REPORT_ANSWERS = answers(
    HumoReportOutput, (ErrorCode.INTERNAL, ErrorCode.PAYMENT, ErrorCode.XUMO)
)


class HumoPrintView(APIView):
    """A report the PIN pad prints on a GET. HEAD would run it (Django answers HEAD by
    running GET), so HEAD is refused, and `Allow` says so."""

    def head(self, request: Request) -> Response:
        raise exceptions.MethodNotAllowed("HEAD")

    @property
    def allowed_methods(self) -> list[str]:
        return ["GET", "OPTIONS"]


class HumoCloseView(HumoPrintView):
    @extend_schema(
        operation_id="xumo_close",
        summary="End-of-day reconciliation on the PIN pad",
        responses=HUMO_REPORT_ANSWERS,
        description="`message` is the terminal's report. Code 108 when it cannot be run; "
        "code 106 `no_account` when the register has no PIN pad. HEAD is 405: it would close "
        "the shift.",
    )
    def get(self, request: Request) -> Response:
        closed = end_of_day.close_day(HumoView.provider, calling_register(request))
        return success({"message": closed.report, "ppt_id": None})


class HumoShiftReportView(HumoPrintView):
    @extend_schema(
        operation_id="xumo_shortreport",
        summary="The shift's totals so far, printed by the PIN pad",
        responses=HUMO_REPORT_ANSWERS,
        description="`message` is the terminal's report of the shift so far; the shift stays "
        "open. Code 108 `unsupported` where the terminal's protocol has no such report "
        "(Concert E+): nothing is sent. Code 106 `no_account` when the register has no PIN pad.",
    )
    def get(self, request: Request) -> Response:
        report = end_of_day.shift_report(HumoView.provider, calling_register(request))
        return success({"message": report, "ppt_id": None})


class HumoLastSlipView(APIView):
    @extend_schema(
        operation_id="xumo_print_last",
        summary="The register's last HUMO slip again",
        responses=answers(HumoReprintOutput, (ErrorCode.INTERNAL, ErrorCode.PAYMENT)),
        description="From our records, without touching the terminal (after a paper jam): "
        "the last slip of the calling register's purchases and returns, approved or not. "
        "Code 106 `not_found` when it has none.",
    )
    def get(self, request: Request) -> Response:
        printed = end_of_day.last_slip(HumoView.provider, calling_register(request))
        return success(HumoReprintOutput(printed).data)


class HumoLastDayReportView(APIView):
    @extend_schema(
        operation_id="xumo_close_print_last",
        summary="The register's last end-of-day report again",
        responses=answers(
            HumoReportOutput, (ErrorCode.INTERNAL, ErrorCode.PAYMENT), name="HumoLastReport"
        ),
        description="From our records, without touching the terminal. Code 106 `not_found` "
        "when the register has closed no day.",
    )
    def get(self, request: Request) -> Response:
        report = end_of_day.last_day_report(HumoView.provider, calling_register(request))
        return success({"message": report, "ppt_id": None})


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
