"""The demo operator's password, as make run prints it."""

import itertools
import secrets

from payments.management.commands import run_local


def test_a_fresh_password_never_starts_with_a_dash(monkeypatch) -> None:
    drawn = iter(["-x9Qa2_bcDef", "_k3Lm9PqRsTu", "Zr4-Yq8_Wv1X"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    assert run_local.fresh_password() == "Zr4-Yq8_Wv1X"


def test_fresh_passwords_differ_and_start_with_a_letter_or_digit() -> None:
    passwords = [run_local.fresh_password() for _ in itertools.repeat(None, 200)]
    assert len(set(passwords)) == 200
    assert all(p[0].isalnum() and len(p) >= 16 for p in passwords)
