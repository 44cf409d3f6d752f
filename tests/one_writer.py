"""The store is the one writer of payments, held to it while the whole suite runs.

Every way Django writes a payment row (a model's `save` or `delete`, a queryset's
`update`, `delete`, `bulk_create` or `bulk_update` of payments) is watched: the code of
ours nearest to the call must be `payments/store.py` (or the statements it sends, or a
migration). A write made from any other module of `payments/` fails the test that ran it,
naming the line. The tests' own writes (yesterday's state, a moved clock, another request
played by the test) are theirs: the nearest code of ours on the stack is the test's.
"""

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

ROOT = Path(__file__).resolve().parents[1]
PAYMENTS = ROOT / "payments"
TESTS = ROOT / "tests"
ALLOWED = (
    PAYMENTS / "store.py",
    PAYMENTS / "models" / "statements.py",
    PAYMENTS / "migrations",
)


class WrittenOutsideTheStore(AssertionError):
    pass


def writer() -> str | None:
    """The nearest frame of our code on the stack, as `path:line`, when it is a module of
    `payments/` not allowed to write; None when it is allowed, or is a test's."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(TESTS):
            return None
        if path.is_relative_to(PAYMENTS):
            if any(path == a or path.is_relative_to(a) for a in ALLOWED):
                return None
            return f"{path.relative_to(ROOT)}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _guarded(method: Callable, is_payments: Callable[[Any], bool]) -> Callable:
    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if is_payments(self):
            where = writer()
            if where is not None:
                raise WrittenOutsideTheStore(f"a payment written outside the store, at {where}")
        return method(self, *args, **kwargs)

    guarded.__wrapped_by_one_writer__ = True  # type: ignore[attr-defined]
    return guarded


def install() -> None:
    from payments.models import Payment

    if getattr(Payment.save, "__wrapped_by_one_writer__", False):
        return
    Payment.save = _guarded(Payment.save, lambda row: True)  # type: ignore[method-assign]
    Payment.delete = _guarded(Payment.delete, lambda row: True)  # type: ignore[method-assign]
    for name in ("update", "delete", "bulk_create", "bulk_update"):
        method = getattr(QuerySet, name)
        setattr(QuerySet, name, _guarded(method, lambda qs: qs.model is Payment))
