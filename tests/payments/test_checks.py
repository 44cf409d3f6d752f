"""The configuration the service refuses to start with."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_an_unknown_pinpad_protocol_is_refused(settings) -> None:
    settings.PINPAD_PROTOCOL = "concert-e"
    with pytest.raises(SystemCheckError, match="payments.E001"):
        call_command("check")


def test_the_known_protocols_pass(settings) -> None:
    for protocol in ("tlv", "concert-e+"):
        settings.PINPAD_PROTOCOL = protocol
        out = StringIO()
        call_command("check", stdout=out)
        assert "no issues" in out.getvalue()
