"""The gateways' own sentences (`providers.sayings`) in the operator's language.

A stored text that is one of them is said from the catalogs, its parameters filled in (a
failure's code in words, a nested saying said too); anything else is a provider's or the
PIN pad's own words, and stays as it came.
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from payments.models import PaymentStatus, label_of
from providers import sayings
from providers.http import Failure

# Why a request got no usable answer (providers.http.Failure), as operators read it.
FAILURES = {
    Failure.NOT_SENT: _("the request never left"),
    Failure.TIMEOUT: _("no answer in time"),
    Failure.CONNECTION_RESET: _("the connection was broken"),
    Failure.SERVER_ERROR: _("a server error"),
    Failure.NOT_JSON: _("an answer that could not be read"),
}
# Parameters that hold a sentence of their own, which may be a saying too.
NESTED = ("message", "reason", "note")


def said(text: str) -> str:
    """`text` in the operator's language when it is a sentence of ours; else as it is."""
    found = sayings.read(text)
    if found is None:
        return text
    saying, values = found
    if "status" in values:
        label = label_of(PaymentStatus, values["status"])
        values["status"] = label[:1].lower() + label[1:]  # inside a sentence
    if "failure" in values:
        failure = values["failure"]
        values["failure"] = (
            str(FAILURES.get(Failure(failure), failure)) if failure in FAILURES else failure
        )
    for name in NESTED:
        if name in values:
            values[name] = said(values[name])
    return gettext(saying.template) % values
