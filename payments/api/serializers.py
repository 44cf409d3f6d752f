"""Input and output serializers of the register API.

Input validation messages are DRF's own and reach the register unchanged (code 7).
"""

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.errors import ApplicationError
from payments.models import FiscalStatus, Payment, PaymentStatus, provider_choices
from payments.ofd import InvalidReceiptUrlError, parse_receipt_url
from providers.base import OfdReceipt

MAX_AMOUNT_TIYIN = 10**12
_DIGITS = re.compile(r"[0-9]+")


class Serializer(serializers.Serializer):
    """DRF's serializer, whose fields are copied cheaply for each one made. Its `about` is
    what the schema says of it to integrators (docstrings are for us).

    DRF deep-copies the declared fields for every serializer made, which runs each field's
    constructor again: on a charge, a few tenths of a millisecond for the request's and the
    answer's. A shallow copy is enough here: the copy is bound to this serializer (its
    name, parent and source are its own), and nothing changes a declared field after its
    class is made. A nested serializer is still copied deeply (its bound fields are its own).
    """

    about = ""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


class OfdReceiptUrlField(serializers.CharField):
    """An OFD receipt URL, validated and parsed into an `OfdReceipt`."""

    default_error_messages = {"invalid_receipt": "Enter a valid OFD receipt URL: {reason}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault(
            "help_text",
            "The receipt's OFD URL: https://ofd.soliq.uz/check?t=<terminal>&r=<receipt no>"
            "&c=<YYYYMMDDhhmmss>&s=<fiscal sign>",
        )
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> OfdReceipt:
        # Parse after CharField's own checks (blank, null, length), which want the string.
        url = super().run_validation(data)
        try:
            return parse_receipt_url(url)
        except InvalidReceiptUrlError as exc:
            raise serializers.ValidationError(
                self.error_messages["invalid_receipt"].format(reason=exc), code="invalid_receipt"
            ) from exc

    def to_representation(self, value: OfdReceipt | str) -> str:
        return value.url if isinstance(value, OfdReceipt) else str(value)


class AliasedInput(Serializer):
    """Accepts the later field names registers use beside the seed's (`aliases`)."""

    aliases: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for alias, name in self.aliases.items():
                if name not in data and alias in data:
                    data[name] = data.pop(alias)
        return super().to_internal_value(data)


class TiyinField(serializers.IntegerField):
    """An amount in tiyin: a JSON integer, or a string of ASCII digits. Python's int() would
    also take "５００", "٣٠٠", "5_000" and 250.0; none of them is what a register means."""

    def to_internal_value(self, data: Any) -> int:
        exact = isinstance(data, int) and not isinstance(data, bool)
        if not exact and not (isinstance(data, str) and _ASCII_DIGITS.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


_ASCII_DIGITS = re.compile(r"[0-9]{1,20}")


# A transaction id as the schema writes it.
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class QrChargeInput(Serializer):
    about = "A scanned CLICK PASS or PAYME GO code and the amount to charge."
    # What the checks below enforce, for the schema (payments.api.schema.document_inputs).
    patterns = {"qr_code": "^[0-9]+$"}

    amount = TiyinField(
        min_value=1, max_value=MAX_AMOUNT_TIYIN, help_text="Amount in tiyin (1 UZS = 100 tiyin)."
    )
    qr_code = serializers.CharField(
        min_length=6,
        max_length=64,
        help_text="The code the customer's app shows, digits as scanned (leading zeros kept).",
    )

    def validate_qr_code(self, value: str) -> str:
        if not _DIGITS.fullmatch(value):
            raise serializers.ValidationError("Enter only the digits 0-9.")
        return value


class UzumChargeInput(QrChargeInput):
    """An Uzum Fast Pay code is not digits: `7993:5061401:01KFDH...:3sySIU...k=`."""

    about = "A scanned Uzum Fast Pay code and the amount to charge."

    patterns = {"qr_code": "^[ -~]+$"}

    qr_code = serializers.CharField(
        min_length=40,
        max_length=128,
        help_text="The code the customer's Uzum app shows, as scanned: printable ASCII.",
    )

    def validate_qr_code(self, value: str) -> str:
        if not _PRINTABLE_ASCII.fullmatch(value):
            raise serializers.ValidationError("Enter only printable ASCII characters.")
        return value


_PRINTABLE_ASCII = re.compile(r"[ -~]+")


class ClickConfirmInput(AliasedInput):
    about = "The fiscal receipt of a paid CLICK payment, to pass to CLICK."
    aliases = {"qr_code": "qrcode", "qrcodel": "qrcode"}

    payment_id = serializers.CharField(
        max_length=64, help_text="CLICK's payment id from the charge answer, or our transaction_id."
    )
    qrcode = OfdReceiptUrlField()


class ClickChargeOutput(Serializer):
    about = "A CLICK PASS charge that went through."

    status_code = serializers.SerializerMethodField(help_text="CLICK's error_code: 0.")
    status = serializers.SerializerMethodField(help_text='Always "successfully".')
    message = serializers.CharField(source="provider_message", help_text="CLICK's error_note.")
    transaction_id = serializers.UUIDField(help_text="Ours, for GET /payment/status.")
    payment_id = serializers.CharField(source="provider_payment_id", help_text="CLICK's id.")
    amount = serializers.IntegerField(help_text="Tiyin.")
    qr_code = serializers.CharField(help_text="The code as scanned.")
    client_phone_number = serializers.CharField(
        source="payer_phone", help_text="The payer's phone as the provider gave it, or empty."
    )

    @extend_schema_field(OpenApiTypes.INT)
    def get_status_code(self, payment: Payment) -> int:
        return int(payment.provider_code or 0)

    def get_status(self, payment: Payment) -> str:
        return "successfully"


class ClickConfirmOutput(Serializer):
    about = "CLICK took the fiscal receipt."

    inn = serializers.CharField(source="register.inn", help_text="The register's INN.")
    payment_id = serializers.CharField(source="provider_payment_id", help_text="CLICK's id.")
    qr_code = serializers.CharField(source="fiscal_receipt_url", help_text="The receipt URL.")
    status = serializers.SerializerMethodField(help_text='Always "successfully".')
    error = serializers.SerializerMethodField(help_text="Always null.")

    def get_status(self, payment: Payment) -> str:
        return "successfully"

    @extend_schema_field({"type": "string", "nullable": True, "description": "Always null."})
    def get_error(self, payment: Payment) -> None:
        return None


class PaymeConfirmInput(AliasedInput):
    about = "The fiscal receipt of a paid Payme payment, to pass to Payme."
    aliases = {"payment_id": "payme_id", "qr_code": "qr_code_url"}
    patterns = {"receipt_id": "^[0-9]+$", "fiscal_sign": "^[0-9]+$"}

    payme_id = serializers.CharField(
        max_length=64, help_text="Payme's receipt id from the charge answer, or our transaction_id."
    )
    receipt_id = serializers.CharField(
        required=False, max_length=20, help_text="The receipt number; must equal r in the URL."
    )
    qr_code_url = OfdReceiptUrlField()
    fiscal_sign = serializers.CharField(
        required=False, max_length=32, help_text="The fiscal sign; must equal s in the URL."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        receipt: OfdReceipt = attrs["qr_code_url"]
        mismatches = {}
        for name, from_url, letter in (
            ("receipt_id", receipt.receipt_number, "r"),
            ("fiscal_sign", receipt.fiscal_sign, "s"),
        ):
            given = attrs.get(name)
            if given is not None and not _same_number(given, from_url):
                mismatches[name] = [f"Does not match the receipt URL ({letter}={from_url})."]
        if mismatches:
            raise serializers.ValidationError(mismatches)
        return attrs


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _same_number(given: str, from_url: str) -> bool:
    # "02421" and "2421" name the same receipt; fiscal signs are compared the same way.
    return bool(_DIGITS.fullmatch(given)) and int(given) == int(from_url)


class PaymeChargeOutput(Serializer):
    about = "A PAYME GO charge that went through."

    amount = serializers.IntegerField(help_text="Tiyin.")
    transaction_id = serializers.UUIDField(help_text="Ours, for GET /payment/status.")
    payment_id = serializers.CharField(source="provider_payment_id", help_text="Payme's _id.")
    inn = serializers.CharField(source="register.inn", help_text="The register's INN.")
    qr_code = serializers.CharField(help_text="The code as scanned.")
    kkm_id = serializers.CharField(source="register.kkm_id", help_text="The register's KKM id.")
    device_id = serializers.CharField(
        source="register.device_id", help_text="The register's device id."
    )
    status = serializers.SerializerMethodField(help_text='Always "successfully".')
    message = serializers.SerializerMethodField(help_text='Always "successfully payment".')
    client_phone_number = serializers.CharField(
        source="payer_phone", help_text="The payer's phone as the provider gave it, or empty."
    )

    def get_status(self, payment: Payment) -> str:
        return "successfully"

    def get_message(self, payment: Payment) -> str:
        return "successfully payment"


class PaymeConfirmOutput(Serializer):
    """Payme's JSON-RPC answer to receipts.set_fiscal_data, as it came."""

    about = "Payme's JSON-RPC answer to receipts.set_fiscal_data, as it came."

    id = serializers.IntegerField(allow_null=True, help_text="The JSON-RPC request id.")
    result = serializers.JSONField(
        help_text='{"receipt": {"_id", "create_time", "pay_time"}} or {"success": true}.'
    )
    error = serializers.JSONField(allow_null=True, help_text="Always null here.")


class UzumChargeOutput(Serializer):
    about = "An Uzum Fast Pay charge that went through."

    payment_id = serializers.CharField(source="provider_payment_id", help_text="Uzum's id.")
    payment_status = serializers.SerializerMethodField(help_text='Always "SUCCESS".')
    error_code = serializers.CharField(
        source="provider_code", help_text='Uzum\'s error_code as a string: "0".'
    )
    error_message = serializers.SerializerMethodField(help_text="Always null.")
    client_phone_number = serializers.SerializerMethodField(
        help_text="The payer's phone, 998XXXXXXXXX; null when Uzum gave none."
    )
    transaction_id = serializers.UUIDField(help_text="Ours, for GET /payment/status.")

    def get_payment_status(self, payment: Payment) -> str:
        return "SUCCESS"

    @extend_schema_field({"type": "string", "nullable": True, "description": "Always null."})
    def get_error_message(self, payment: Payment) -> None:
        return None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_client_phone_number(self, payment: Payment) -> str | None:
        return payment.payer_phone or None


class UzumConfirmInput(AliasedInput):
    about = "The fiscal receipt of a paid Uzum payment, to pass to Uzum."
    aliases = {"qrcode": "qr_code"}

    payment_id = serializers.CharField(
        max_length=64, help_text="Uzum's payment id from the charge answer, or our transaction_id."
    )
    qr_code = OfdReceiptUrlField(
        help_text="The receipt's OFD URL, despite the name: https://ofd.soliq.uz/check?t="
        "<terminal>&r=<receipt no>&c=<YYYYMMDDhhmmss>&s=<fiscal sign>"
    )


class UzumConfirmOutput(UzumChargeOutput):
    """The charge's answer, without our id: what fbox's registers read after a confirm."""

    about = "Uzum took the fiscal receipt: the charge's answer, without our id."

    transaction_id = None  # type: ignore[assignment]  # DRF's way to drop an inherited field

    def get_payment_status(self, payment: Payment) -> str:
        # Uzum's word in its answer to the link, else the paid payment's.
        answer = payment.fiscal_response if isinstance(payment.fiscal_response, dict) else {}
        return str(answer.get("payment_status") or "SUCCESS")


class HumoInput(Serializer):
    about = "A HUMO card purchase on the PIN pad, or (is_return) the return of one."

    patterns = {"request_id": f"^([0-9]{{12}}|{UUID_PATTERN})$"}

    # 12 digits travel on the line (CB): one tiyin less than the other endpoints allow.
    amount = TiyinField(min_value=1, max_value=MAX_AMOUNT_TIYIN - 1, help_text="Amount in tiyin.")
    is_return = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: reverse the purchase `request_id` (a cancel on the terminal).",
    )
    request_id = serializers.CharField(
        required=False,
        help_text="For a reversal: the purchase's RRN (12 digits), or our transaction_id "
        "(a terminal that speaks Concert E+ gives no RRN).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rrn = attrs.get("request_id")
        if attrs["is_return"] and rrn is None:
            raise serializers.ValidationError(
                {"request_id": ["This field is required when is_return is true."]}
            )
        if rrn is not None and not attrs["is_return"]:
            # A purchase that names an RRN is a reversal sent without its flag: running it
            # as a new purchase would charge the card again.
            raise serializers.ValidationError(
                {"request_id": ["Send it only with is_return: true."]}
            )
        if rrn is not None and not (len(rrn) == 12 and _DIGITS.fullmatch(rrn) or _is_uuid(rrn)):
            raise serializers.ValidationError(
                {"request_id": ["Enter the purchase's 12-digit RRN or its transaction_id."]}
            )
        return attrs


class HumoOutput(Serializer):
    about = "The PIN pad approved it: the slip and the RRN."

    message = serializers.CharField(source="slip_text", help_text="The bank slip, as printed.")
    ppt_id = serializers.CharField(source="provider_payment_id", help_text="The RRN.")
    transaction_id = serializers.UUIDField(help_text="Ours, for GET /payment/status.")


def billing_refusal(payment: Payment) -> ApplicationError:
    """A QR provider's refusal: code 104 with its own code and text."""
    code = payment.provider_code
    provider_code: Any = int(code) if code.lstrip("-").isdigit() else (code or None)
    return ApplicationError.billing(payment.provider, provider_code, payment.provider_message)


def pinpad_refusal(payment: Payment) -> ApplicationError:
    """The PIN pad's refusal: code 108 with the host's code and the slip, when printed."""
    return ApplicationError.pinpad(
        payment.provider_code or None, payment.provider_status, payment.slip_text
    )


class HumoReprintOutput(Serializer):
    about = "The register's last slip again, as it was printed."

    message = serializers.CharField(source="slip_text", help_text="The bank slip, as printed.")
    ppt_id = serializers.CharField(
        source="provider_payment_id",
        allow_null=True,
        help_text="Its RRN; empty when the terminal gave none (a declined card).",
    )
    transaction_id = serializers.UUIDField(help_text="Ours, of the operation it printed.")


class HumoReportOutput(Serializer):
    about = "A report the PIN pad printed."

    message = serializers.CharField(help_text="The terminal's end-of-day report.")
    ppt_id = serializers.CharField(allow_null=True, help_text="Always null.")


class RefundInput(Serializer):
    about = "The purchase to give money back from, and how much."

    transaction_id = serializers.UUIDField(
        help_text="Our transaction_id of the purchase to refund, from the charge's answer."
    )
    amount = TiyinField(
        min_value=1,
        max_value=MAX_AMOUNT_TIYIN,
        required=False,
        help_text="Tiyin to give back now. Absent: all of the purchase not given back yet. "
        "CLICK and HUMO take a part; Payme and Uzum only the whole purchase.",
    )


class RefundOutput(Serializer):
    about = "A refund the provider took."

    transaction_id = serializers.UUIDField(
        help_text="The refund's own id: GET /payment/status/{transaction_id} follows it."
    )
    refunded_transaction_id = serializers.UUIDField(
        source="reverses.transaction_id", help_text="The purchase's transaction_id."
    )
    provider = serializers.ChoiceField(choices=provider_choices())
    amount = serializers.IntegerField(help_text="Tiyin given back by this refund.")
    reversed_amount = serializers.IntegerField(
        source="reverses.reversed_amount",
        help_text="Tiyin of the purchase given back so far, this refund's included once done.",
    )
    status = serializers.SerializerMethodField(
        help_text="`reversed`: the money went back. `processing`: the provider is still "
        "giving it back (Payme, state 21); the refund is done, ask GET /payment/status later."
    )
    message = serializers.CharField(
        source="slip_text", required=False, help_text="HUMO only: the bank slip, as printed."
    )
    ppt_id = serializers.CharField(
        source="provider_payment_id", required=False, help_text="HUMO only: the cancel's RRN."
    )

    def get_status(self, refund: Payment) -> str:
        return "reversed" if refund.status == PaymentStatus.PAID else "processing"

    def to_representation(self, instance: Payment) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not instance.slip_text:
            del data["message"], data["ppt_id"]  # a QR refund: no slip, no id of its own
        return data


class PaymentStatusOutput(serializers.ModelSerializer):
    about = "A payment (or a refund) as it stands now."
    provider = serializers.ChoiceField(choices=provider_choices())
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    fiscal_status = serializers.ChoiceField(choices=FiscalStatus.choices)
    payment_id = serializers.CharField(
        source="provider_payment_id", help_text="The provider's id; empty until it gave one."
    )
    amount = serializers.IntegerField(help_text="Tiyin.")
    reversed_amount = serializers.IntegerField(
        help_text="Of a purchase: tiyin given back by refunds so far."
    )
    refunded_transaction_id = serializers.UUIDField(
        source="reverses.transaction_id",
        default=None,
        help_text="Of a refund: the purchase's transaction_id; null for a purchase.",
    )
    created_at = serializers.DateTimeField(help_text="When we made it (Tashkent time).")
    updated_at = serializers.DateTimeField(help_text="When it last changed (Tashkent time).")

    class Meta:
        model = Payment
        fields = [
            "transaction_id",
            "provider",
            "amount",
            "reversed_amount",
            "status",
            "fiscal_status",
            "payment_id",
            "refunded_transaction_id",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, instance: Payment) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.reverses_id is not None and instance.status == PaymentStatus.PAID:
            data["status"] = PaymentStatus.REVERSED  # a refund done: the money went back
        return data


class ErrorOutput(Serializer):
    about = "Why the request did not succeed."

    code = serializers.IntegerField(
        help_text="7 validation, 103 internal, 104 provider error, 106 conflict, 108 PIN pad, "
        "110 outcome unknown (ask the status), 111 unauthorized, 404/405 unknown path/method."
    )
    message = serializers.CharField(
        help_text="For code 7 the field errors as compact JSON; else the code's name."
    )
    data = serializers.JSONField(  # type: ignore[assignment]  # a field named like Serializer.data
        allow_null=True,
        help_text='7: {"fields": {field: [messages]}}, the errors of `message` as an object. '
        '103: {"request_id"}. 104: {"provider", "code", "note"}, the provider\'s own. 106: '
        '{"reason", ...}. 108: {"host_code", "reason", "slip"}. 110: {"transaction_id"}. '
        '111: {"reason"}. 404: {"path"}. 405: {"detail"}.',
    )
