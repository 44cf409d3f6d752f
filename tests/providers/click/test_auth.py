from providers.click import gateway
from providers.click.gateway import auth_header, digest


def test_digest_matches_the_reference_test_vector() -> None:
    assert digest(1700000000, "TEST_SECRET_KEY") == "cf784493069db1554212eedee76284d545383d4a"


def test_header_is_user_digest_timestamp() -> None:
    header = auth_header("12345", "TEST_SECRET_KEY", now=1700000000)
    assert header == "12345:cf784493069db1554212eedee76284d545383d4a:1700000000"


def test_header_uses_the_current_time_when_none_given(monkeypatch) -> None:
    monkeypatch.setattr(gateway.clock, "time", lambda: 1700000000.9)
    user, header_digest, timestamp = auth_header("7", "s").split(":")
    assert (user, timestamp) == ("7", "1700000000")
    assert header_digest == digest(1700000000, "s")
