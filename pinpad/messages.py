"""What travels inside the link's frames.

- `ConcertRequest` / `ConcertAnswer`: the public Concert E/E+ layout (fixed-width ASCII), for
  Concert-speaking terminals and as a conformance check of our framing.
- `PinpadRequest` / `PinpadAnswer`: our own extension for HUMO operations, TLV in the
  Caisse-AP (Concert V3) syntax: 2-letter tag, 3-digit length, ASCII value, `CZ` first.
  Public V3 tags are reused where the meaning matches; everything no public protocol
  defines is under the private `X*` prefix. docs/pinpad-protocol.md has the table.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from pinpad import reasons

UZS = "860"
TLV_VERSION = "0300"


class MessageError(ValueError):
    """A payload that does not follow the message layout."""


# --- Concert E / E+ (public) -----------------------------------------------------------


@dataclass(frozen=True)
class ConcertRequest:
    amount: int  # minor units; E/E+ carry 8 digits at most
    pos: str = "01"
    answer_flag: str = "1"  # 1: return the REP field
    payment_mode: str = "1"  # 1: card
    kind: str = "0"  # 0 purchase, 1 refund, 2 cancellation
    currency: str = UZS
    private: str = ""  # echoed back; 10 characters
    delay: str | None = "A010"  # E+ only: answer at the end of the transaction
    authorization: str | None = "B010"  # E+ only: the terminal decides

    def encode(self) -> bytes:
        if not 0 <= self.amount <= 99_999_999:
            raise MessageError("Concert E/E+ carry at most 8 digits of amount")
        text = (
            f"{self.pos:0>2.2}{self.amount:08d}{self.answer_flag}{self.payment_mode}"
            f"{self.kind}{self.currency}{self.private:<10.10}"
        )
        if self.delay is not None and self.authorization is not None:
            text += self.delay + self.authorization
        return text.encode("ascii")

    @classmethod
    def decode(cls, payload: bytes) -> "ConcertRequest":
        text = _ascii(payload)
        if len(text) not in (26, 34):
            raise MessageError(f"a Concert request is 26 or 34 characters, not {len(text)}")
        if not (text[0:2].isdigit() and text[2:10].isdigit() and text[13:16].isdigit()):
            raise MessageError("POS number, amount and currency must be digits")
        plus = len(text) == 34
        return cls(
            amount=int(text[2:10]),
            pos=text[0:2],
            answer_flag=text[10],
            payment_mode=text[11],
            kind=text[12],
            currency=text[13:16],
            private=text[16:26],
            delay=text[26:30] if plus else None,
            authorization=text[30:34] if plus else None,
        )


@dataclass(frozen=True)
class ConcertAnswer:
    pos: str
    status: str  # 0 accepted, 7 refused / not done, 9 handled (immediate mode)
    amount: int
    payment_mode: str
    rep: str | None  # usually the card number; None: the short answer without it
    currency: str
    private: str

    def encode(self) -> bytes:
        """80 characters with the REP field, 25 without (`rep` None)."""
        head = f"{self.pos:0>2.2}{self.status:1.1}{self.amount:08d}{self.payment_mode:1.1}"
        rep = "" if self.rep is None else f"{self.rep:<55.55}"
        return (head + rep + f"{self.currency:3.3}{self.private:<10.10}").encode("ascii")

    @classmethod
    def decode(cls, payload: bytes) -> "ConcertAnswer":
        text = _ascii(payload)
        # 80 or 25 characters of data: 83 or 28 bytes once framed (STX, ETX, LRC).
        if len(text) == 80:
            rep, tail = text[12:67], text[67:]
        elif len(text) == 25:
            rep, tail = None, text[12:]
        else:
            raise MessageError(f"a Concert answer is 80 or 25 characters, not {len(text)}")
        if not text[3:11].isdigit():
            raise MessageError("the amount is not digits")
        return cls(
            pos=text[0:2],
            status=text[2],
            amount=int(text[3:11]),
            payment_mode=text[11],
            rep=rep,
            currency=tail[0:3],
            private=tail[3:13],
        )


# --- TLV (Caisse-AP syntax) --------------------------------------------------------------

_TAG = re.compile(r"[A-Z]{2}")


_MAX_VALUE = 999  # a 3-digit length


def encode_tlv(fields: dict[str, str]) -> bytes:
    """`CZ` first, then the others in the given order. A value longer than 999 characters
    (a slip) is split over consecutive fields with the same tag (our extension)."""
    ordered = {"CZ": fields.get("CZ", TLV_VERSION), **fields}
    out = []
    for tag, value in ordered.items():
        if not _TAG.fullmatch(tag):
            raise MessageError(f"bad tag {tag!r}")
        chunks = [value[i : i + _MAX_VALUE] for i in range(0, len(value), _MAX_VALUE)]
        for chunk in chunks or [""]:
            out.append(f"{tag}{len(chunk):03d}{chunk}")
    return "".join(out).encode("ascii")


def decode_tlv(payload: bytes) -> dict[str, str]:
    text = _ascii(payload)
    fields: dict[str, str] = {}
    position, previous = 0, ""
    while position < len(text):
        tag, length = text[position : position + 2], text[position + 2 : position + 5]
        if not _TAG.fullmatch(tag) or not length.isdigit():
            raise MessageError(f"bad TLV header at {position}")
        end = position + 5 + int(length)
        if end > len(text):
            raise MessageError(f"value of {tag} runs past the end")
        if tag in fields and tag != previous:
            raise MessageError(f"{tag} appears twice")
        fields[tag] = fields.get(tag, "") + text[position + 5 : end]
        position, previous = end, tag
    if next(iter(fields), None) != "CZ":
        raise MessageError("CZ must come first")
    return fields


def _ascii(payload: bytes) -> str:
    """The payload as text: printable 7-bit ASCII only, as every Concert field is."""
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MessageError("not 7-bit ASCII") from exc
    if not text.isprintable():
        raise MessageError("control bytes inside the message")
    return text


# --- what a field may hold -------------------------------------------------------------

_FIELD_RULES = {
    # tag: (pattern, what it is)
    "CA": (re.compile(r"[0-9]{2}"), "POS number"),
    "CE": (re.compile(r"[0-9]{3}"), "currency"),
    "XH": (re.compile(r"[0-9]{3}"), "host code"),
    "XR": (re.compile(r"[0-9]{12}"), "RRN"),
    "XO": (re.compile(r"[0-9]{12}"), "original RRN"),
    "AC": (re.compile(r"[0-9A-Za-z]{1,10}"), "authorisation code"),
    "AA": (re.compile(r"[0-9*]{12,19}"), "card number"),
    "XT": (re.compile(r"[0-9A-Za-z]{1,16}"), "terminal id"),
    "XN": (re.compile(r"[0-9]{1,10}"), "slip number"),
    "XB": (re.compile(r"[0-9]{1,10}"), "shift"),
    "CF": (re.compile(r"[0-9A-Za-z-]{1,99}"), "order id"),
}
# A card number inside a slip: 13 to 19 digits, spaces allowed between groups of four.
_PAN_IN_TEXT = re.compile(r"(?<![0-9])(?:[0-9][ ]?){12,18}[0-9](?![0-9])")


def _checked(fields: dict[str, str]) -> dict[str, str]:
    for tag, (pattern, name) in _FIELD_RULES.items():
        value = fields.get(tag)
        if value and not pattern.fullmatch(value):
            raise MessageError(f"{tag} is not a valid {name}")
    return fields


def mask_pan(pan: str) -> str:
    """A card number as it may be kept and shown: the first 6 and the last 4 digits."""
    if len(pan) < 10:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def mask_pans_in(text: str) -> str:
    """Every full card number in a text (a slip) masked to its first 6 and last 4."""
    return _PAN_IN_TEXT.sub(lambda m: mask_pan(m.group().replace(" ", "")), text)


def _slip_text(encoded: str) -> str:
    try:
        slip = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MessageError("XS is not Base64 of UTF-8") from exc
    if any(not (c.isprintable() or c == "\n") for c in slip):
        raise MessageError("control bytes inside the slip")
    return mask_pans_in(slip)


# --- our extension ---------------------------------------------------------------------


class Action:
    PURCHASE = "0"
    CANCEL = "2"
    CLOSE_DAY = "B"  # "telecollection" in Concert V3 terms
    LAST_TRANSACTION = "L"  # private
    SHIFT_REPORT = "X"  # private: the shift's totals so far, printed; the shift stays open


# How people and logs name the actions.
ACTION_NAMES = {
    Action.PURCHASE: "purchase",
    Action.CANCEL: "cancel",
    Action.CLOSE_DAY: "close_day",
    Action.LAST_TRANSACTION: "last_transaction",
    Action.SHIFT_REPORT: "shift_report",
}


@dataclass(frozen=True)
class PinpadRequest:
    action: str
    order_id: str = ""  # our id for the operation (CF), echoed in the answer
    amount: int = 0  # tiyin
    original_rrn: str = ""  # for a cancel
    pos: str = "01"  # our POS number on the line (CA), echoed in the answer

    def encode(self) -> bytes:
        fields = {"CA": self.pos, "CD": self.action, "CE": UZS}
        if self.amount:
            fields["CB"] = f"{self.amount:012d}"
        if self.order_id:
            fields["CF"] = self.order_id
        if self.original_rrn:
            fields["XO"] = self.original_rrn
        return encode_tlv(fields)

    @classmethod
    def decode(cls, payload: bytes) -> "PinpadRequest":
        fields = _checked(decode_tlv(payload))
        if "CD" not in fields:
            raise MessageError("no action (CD)")
        return cls(
            action=fields["CD"],
            order_id=fields.get("CF", ""),
            amount=_amount(fields.get("CB", "")),
            original_rrn=fields.get("XO", ""),
            pos=fields.get("CA", ""),
        )


@dataclass(frozen=True)
class PinpadAnswer:
    action: str
    done: bool  # AE: 10 done, 01 not done
    host_code: str = ""
    order_id: str = ""
    amount: int = 0
    rrn: str = ""
    auth_code: str = ""
    masked_pan: str = ""
    terminal_id: str = ""
    slip_number: str = ""
    shift: str = ""
    original_rrn: str = ""
    # In an answer to LAST_TRANSACTION (whose CD stays "L"): the action it reports.
    reported_action: str = ""
    slip: str = ""  # Cyrillic: travels as Base64 of UTF-8 to keep the link 7-bit
    pos: str = "01"  # CA: the POS number the answer is for
    currency: str = UZS  # CE

    def encode(self) -> bytes:
        fields = {
            "CA": self.pos,
            "CD": self.action,
            "AE": "10" if self.done else "01",
            "CE": self.currency,
            "CB": f"{self.amount:012d}",
            "CF": self.order_id,
            "XH": self.host_code,
            "XR": self.rrn,
            "AC": self.auth_code,
            "AA": self.masked_pan,
            "XT": self.terminal_id,
            "XN": self.slip_number,
            "XB": self.shift,
            "XO": self.original_rrn,
            "XA": self.reported_action,
            "XS": base64.b64encode(self.slip.encode("utf-8")).decode("ascii"),
        }
        return encode_tlv({tag: value for tag, value in fields.items() if value})

    @classmethod
    def decode(cls, payload: bytes) -> "PinpadAnswer":
        fields = _checked(decode_tlv(payload))
        if "CD" not in fields or fields.get("AE") not in ("10", "01"):
            # AE 11 ("taken into account", immediate mode) is not a final word either.
            raise MessageError("an answer needs CD and AE (10 or 01)")
        return cls(
            action=fields["CD"],
            done=fields["AE"] == "10",
            host_code=fields.get("XH", ""),
            order_id=fields.get("CF", ""),
            amount=_amount(fields.get("CB", "")),
            rrn=fields.get("XR", ""),
            auth_code=fields.get("AC", ""),
            masked_pan=mask_pan(fields["AA"]) if "AA" in fields else "",
            terminal_id=fields.get("XT", ""),
            slip_number=fields.get("XN", ""),
            shift=fields.get("XB", ""),
            original_rrn=fields.get("XO", ""),
            reported_action=fields.get("XA", ""),
            slip=_slip_text(fields.get("XS", "")),
            pos=fields.get("CA", ""),
            currency=fields.get("CE", ""),
        )


def _amount(text: str) -> int:
    if not text:
        return 0
    if not text.isdigit() or len(text) > 12:
        raise MessageError("CB must be up to 12 digits")
    return int(text)


# --- the two protocols the driver speaks ------------------------------------------------


class TlvCodec:
    """Our TLV extension (the default): every HUMO operation, RRN and slip included."""

    name = "tlv"

    def cannot(self, request: PinpadRequest) -> str:
        return ""

    def reference(self, request: PinpadRequest) -> str:
        return request.order_id

    def encode(self, request: PinpadRequest) -> bytes:
        return request.encode()

    def decode_request(self, payload: bytes) -> PinpadRequest:
        return PinpadRequest.decode(payload)

    def decode(self, payload: bytes, request: PinpadRequest) -> PinpadAnswer:
        return PinpadAnswer.decode(payload)

    def encode_answer(self, answer: PinpadAnswer) -> bytes:
        return answer.encode()


E_PLUS_MAX_AMOUNT = 99_999_999  # 8 digits: 999 999.99 UZS
_E_PLUS_KINDS = {Action.PURCHASE: "0", Action.CANCEL: "2"}


class ConcertEPlusCodec:
    """The public Concert E+ layout: a purchase and a cancellation of an amount, nothing
    more. Our order id travels in the 10 characters of private data (its first 10 hex
    digits), the answer says accepted or refused, and carries neither RRN nor slip."""

    name = "concert-e+"

    def cannot(self, request: PinpadRequest) -> str:
        if request.action not in _E_PLUS_KINDS:
            what = ACTION_NAMES.get(request.action, request.action).replace("_", " ")
            return reasons.NO_SUCH_ACTION % {"what": what}
        if request.amount > E_PLUS_MAX_AMOUNT:
            return "Concert E+ carries at most 999 999.99 UZS"
        return ""

    def reference(self, request: PinpadRequest) -> str:
        return request.order_id[:10]

    def encode(self, request: PinpadRequest) -> bytes:
        return ConcertRequest(
            amount=request.amount,
            pos=request.pos,
            kind=_E_PLUS_KINDS[request.action],
            private=self.reference(request),
        ).encode()

    def decode_request(self, payload: bytes) -> PinpadRequest:
        plain = ConcertRequest.decode(payload)
        actions = {kind: action for action, kind in _E_PLUS_KINDS.items()}
        if plain.kind not in actions:
            raise MessageError(f"transaction type {plain.kind!r} is not a purchase or a cancel")
        return PinpadRequest(
            action=actions[plain.kind],
            order_id=plain.private.rstrip(),
            amount=plain.amount,
            pos=plain.pos,
        )

    def decode(self, payload: bytes, request: PinpadRequest) -> PinpadAnswer:
        """An E+ answer says nothing of its action: it is the request's. Status `0` is
        done, `7` not done; `9` (immediate mode, no final status) or any other is no
        answer to believe."""
        plain = ConcertAnswer.decode(payload)
        if plain.status not in ("0", "7"):
            raise MessageError(f"status {plain.status!r} is not a final answer")
        card = "".join(c for c in (plain.rep or "") if c.isdigit() or c == "*")
        return PinpadAnswer(
            action=request.action,
            done=plain.status == "0",
            order_id=plain.private.rstrip(),
            amount=plain.amount,
            masked_pan=mask_pan(card) if card else "",
            pos=plain.pos,
            currency=plain.currency,
        )

    def encode_answer(self, answer: PinpadAnswer) -> bytes:
        return ConcertAnswer(
            pos=answer.pos,
            status="0" if answer.done else "7",
            amount=answer.amount,
            payment_mode="1",
            rep=answer.masked_pan,
            currency=answer.currency,
            private=answer.order_id[:10],
        ).encode()


CODECS = {codec.name: codec for codec in (TlvCodec(), ConcertEPlusCodec())}
