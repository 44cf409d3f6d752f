"""The OFD receipt URL a register prints on its fiscal receipt, parsed and checked.

`https://ofd.soliq.uz/check?t=<terminal>&r=<receipt no>&c=<YYYYMMDDhhmmss>&s=<fiscal sign>`
"""

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from django.conf import settings

from providers.base import OfdReceipt


class InvalidReceiptUrlError(ValueError):
    pass


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_receipt_url(url: str) -> OfdReceipt:
    """Parse an OFD receipt URL; raise InvalidReceiptUrlError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise InvalidReceiptUrlError("the URL must start with https://")
    allowed = [host.lower() for host in settings.OFD_ALLOWED_HOSTS]
    if (parts.hostname or "").lower() not in allowed:
        raise InvalidReceiptUrlError(f"the host must be one of: {', '.join(allowed)}")
    query = parse_qs(parts.query, keep_blank_values=True)
    values: dict[str, str] = {}
    for name in ("t", "r", "c", "s"):
        given = query.get(name, [])
        if len(given) != 1 or not given[0].strip():
            raise InvalidReceiptUrlError(f"parameter '{name}' is missing")
        values[name] = given[0].strip()
    if not _ascii_digits(values["r"]):
        raise InvalidReceiptUrlError("parameter 'r' (receipt number) must be digits")
    if not _ascii_digits(values["s"]):
        raise InvalidReceiptUrlError("parameter 's' (fiscal sign) must be digits")
    try:
        # strptime alone would take "2023010412180" (13 digits) too.
        if not (len(values["c"]) == 14 and _ascii_digits(values["c"])):
            raise ValueError(values["c"])
        issued_at = datetime.strptime(values["c"], "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise InvalidReceiptUrlError("parameter 'c' must be a date-time YYYYMMDDhhmmss") from exc
    return OfdReceipt(
        url=url,
        terminal_id=values["t"],
        receipt_number=values["r"],
        issued_at=issued_at,
        fiscal_sign=values["s"],
    )
