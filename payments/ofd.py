"""The OFD receipt URL a register prints on its fiscal receipt, parsed and checked.

`https://ofd.soliq.uz/check?t=<terminal>&r=<receipt no>&c=<YYYYMMDDhhmmss>&s=<fiscal sign>`
"""

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils import timezone

from providers.base import OfdReceipt


class InvalidReceiptUrlError(ValueError):
    pass


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# Numbers on a receipt are short; anything longer is not a receipt.
_MAX_DIGITS = 20
_TERMINAL_ID = re.compile(r"[A-Za-z0-9]{1,32}")
# Receipts older than the OFD's URLs, or from after tomorrow, are not receipts either.
_OLDEST_RECEIPT = datetime(2019, 1, 1)  # noqa: DTZ001 - printed local time, as the URL has it


def parse_receipt_url(url: str) -> OfdReceipt:
    """Parse an OFD receipt URL; raise InvalidReceiptUrlError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise InvalidReceiptUrlError("the URL must start with https://")
    if "@" in parts.netloc:
        raise InvalidReceiptUrlError("the URL must not carry a user name or password")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidReceiptUrlError("the port is not a number") from exc
    if port not in (None, 443):
        raise InvalidReceiptUrlError("the URL must use the default https port")
    allowed = [host.lower() for host in settings.OFD_ALLOWED_HOSTS]
    if (parts.hostname or "").lower() not in allowed:
        raise InvalidReceiptUrlError(f"the host must be one of: {', '.join(allowed)}")
    if parts.path not in settings.OFD_RECEIPT_PATHS:
        raise InvalidReceiptUrlError(f"the path must be {' or '.join(settings.OFD_RECEIPT_PATHS)}")
    query = parse_qs(parts.query, keep_blank_values=True)
    values: dict[str, str] = {}
    for name in ("t", "r", "c", "s"):
        given = query.get(name, [])
        if len(given) != 1 or not given[0].strip():
            raise InvalidReceiptUrlError(f"parameter '{name}' is missing")
        values[name] = given[0].strip()
    if not _TERMINAL_ID.fullmatch(values["t"]):
        raise InvalidReceiptUrlError("parameter 't' (terminal) must be up to 32 letters or digits")
    for name, what in (("r", "receipt number"), ("s", "fiscal sign")):
        if not (_ascii_digits(values[name]) and len(values[name]) <= _MAX_DIGITS):
            raise InvalidReceiptUrlError(
                f"parameter '{name}' ({what}) must be up to {_MAX_DIGITS} digits"
            )
    try:
        # strptime alone would take "2023010412180" (13 digits) too.
        if not (len(values["c"]) == 14 and _ascii_digits(values["c"])):
            raise ValueError(values["c"])
        issued_at = datetime.strptime(values["c"], "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise InvalidReceiptUrlError("parameter 'c' must be a date-time YYYYMMDDhhmmss") from exc
    latest = timezone.localtime().replace(tzinfo=None) + timedelta(days=1)
    if not _OLDEST_RECEIPT <= issued_at <= latest:
        raise InvalidReceiptUrlError("parameter 'c' is not a date a receipt can have")
    return OfdReceipt(
        url=url,
        terminal_id=values["t"],
        receipt_number=values["r"],
        issued_at=issued_at,
        fiscal_sign=values["s"],
    )
