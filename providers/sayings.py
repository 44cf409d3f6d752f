"""Our own sentences in a gateway's result (`GatewayResult.message`), each written once here.

The register API passes a result's message on as it is stored, in English: it is the
contract. The back office says the same sentence in the operator's language: it finds which
saying a stored text is (`Saying.read`, which also reads the rows of earlier releases, whose
sentences were the same) and looks its template up in the catalogs, where each one is a
msgid of its own (`payments/admin/sayings.py`; a test holds every saying to a translation).

A template's parameters are `%(name)s`, as the catalogs write them.
"""

import re
from dataclasses import dataclass, field

_PARAMETER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Saying:
    template: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pieces = _PARAMETER.split(self.template)
        # Literal text and parameters alternate: every parameter takes the shortest text
        # that lets the rest match, the last one whatever is left.
        regex = "".join(
            re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.*?)"
            for i, piece in enumerate(pieces)
        )
        object.__setattr__(self, "pattern", re.compile(regex, re.DOTALL))
        ALL.append(self)

    @property
    def parameters(self) -> list[str]:
        return _PARAMETER.findall(self.template)

    def __call__(self, **values: object) -> str:
        return self.template % {name: str(value) for name, value in values.items()}

    def read(self, text: str) -> dict[str, str] | None:
        """The parameters, when `text` is this saying; else None."""
        match = self.pattern.fullmatch(text)
        return match.groupdict() if match else None


# Every saying, in the order they were made (the modules that make them are imported by
# the registry).
ALL: list[Saying] = []


def read(text: str) -> tuple[Saying, dict[str, str]] | None:
    """Which saying `text` is, with its parameters; None for a provider's own words."""
    for saying in ALL:
        values = saying.read(text)
        if values is not None:
            return saying, values
    return None


# Said of any provider (`provider` is the gateway's label).
UNREACHABLE = Saying("%(provider)s is unreachable: %(detail)s")
NO_ANSWER = Saying("no answer from %(provider)s: %(failure)s")
HTTP_STATUS = Saying("HTTP %(status)s from %(provider)s")
UNEXPECTED_ANSWER = Saying("unexpected answer: %(answer)s")
CANNOT_BE_ASKED = Saying("%(provider)s cannot be asked")
NO_FISCAL_RECEIPTS = Saying("%(provider)s takes no fiscal receipts")
NO_END_OF_DAY = Saying("%(provider)s has no end of day")
NO_SHIFT_REPORT = Saying("%(provider)s has no shift to report")
# A payment still open after its provider was asked, when the answer said no more
# (`status` is the payment's).
STILL_OPEN = Saying("still %(status)s")
PURCHASE_REVERSED = Saying("%(provider)s has the purchase reversed")
REVERSAL_NOT_DONE = Saying("%(provider)s still has the purchase paid: the reversal was not done")

# CLICK
CLICK_PART_UNTOLD = Saying(
    "CLICK's status does not tell whether a part was given back: see the cabinet"
)

# Payme
PAYME_NO_RECEIPT = Saying("Payme has no receipt of ours for it")
PAYME_TOO_LATE = Saying("Payme did not take the payment in time; the receipt was cancelled")
PAYME_NO_RECEIPT_IN_ANSWER = Saying("receipts.create answered without a receipt")
PAYME_RETURNED_LATE = Saying("the payment went through late and is being returned to the customer")
PAYME_ANSWERED_STATE = Saying("%(method)s answered state %(state)s")
PAYME_NO_STATE = Saying("Payme gave no receipt state")
PAYME_RECEIPT_CANCELLED = Saying("the receipt is cancelled (state %(state)s)")
PAYME_MANUAL_REVIEW = Saying("Payme paused the receipt for manual review (state 20)")
PAYME_CANCELLED = Saying("Payme cancelled the receipt (state 50)")
PAYME_RETURNING = Saying("Payme is returning the money (state 21)")
PAYME_NOT_CANCELLED = Saying("the receipt is still paid: Payme did not cancel it")

# Uzum
UZUM_REPEAT_SOON = Saying("Uzum has no lookup by our id: the charge is repeated in %(seconds)s s")
UZUM_REPEAT_REFUSED = Saying(
    "%(key)s: Uzum refused the repeat, so the first charge ran; Uzum tells its outcome only "
    "in the merchant cabinet"
)
UZUM_REPEAT_DECLINED = Saying(
    "%(message)s: Uzum declined the repeat, so the first charge most likely never ran; "
    "confirm in Uzum's merchant cabinet"
)

# HUMO (the PIN pad's own reasons are the terminal library's words)
TERMINAL_SILENT = Saying("the terminal did not say: %(reason)s")
TERMINAL_REPORTS_ANOTHER = Saying("the terminal's last transaction is another one")
