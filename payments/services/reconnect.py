"""Writes that outlive a lost database connection.

A restart, a failover or a killed backend drops the connection a request holds. A write
that must not be lost (the step before a provider call, the provider's answer) is tried
again on a fresh connection a few times before the caller gives up.
"""

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connection

from payments import metrics
from payments.errors import ApplicationError
from providers.base import Exchange

logger = logging.getLogger(__name__)

ATTEMPTS = 3
# Seconds before attempt n+1 is n times this: a restarting database gets about a second.
BACKOFF = 0.2

T = TypeVar("T")

# What a dead or refused connection raises; a constraint or a bug is not retried.
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def on_live_connection(write: Callable[[], T], *, what: str) -> T:
    """`write()`, again on a new connection while the database connection fails. The last
    failure is raised. Inside a caller's transaction nothing is retried: a new connection
    would not hold what that transaction did."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return write()
        except CONNECTION_ERRORS as exc:
            if connection.in_atomic_block or attempt == ATTEMPTS:
                raise
            logger.warning("%s failed (%s), attempt %d of %d", what, exc, attempt, ATTEMPTS)
            connection.close()  # the next query opens a new connection
            time.sleep(BACKOFF * attempt)
    raise AssertionError("unreachable")


def read_checking_connection(read: Callable[[], T]) -> T:
    """`read()` as a request's first statement, standing in for the connection's health
    check (CONN_HEALTH_CHECKS), which would cost a round trip of its own: on a connection
    that died while idle (a restart, a failover), the connection is replaced and `read()`
    asked once more, as the check would have replaced it. Only for a read: a write may
    have been done before its connection died. Once the check is done, or on a new
    connection, `read()` just runs."""
    # Django 5.1's health check attributes (django-stubs does not know them yet).
    kept = connection.connection is not None and connection.health_check_enabled  # type: ignore[attr-defined]
    if not kept or connection.health_check_done or connection.in_atomic_block:  # type: ignore[attr-defined]
        return read()
    connection.health_check_done = True  # type: ignore[attr-defined]  # this read is the check
    try:
        return read()
    except CONNECTION_ERRORS as exc:
        logger.info("the kept database connection failed (%s); reading on a new one", exc)
        connection.close()
        return read()


def record_or_unknown(
    write: Callable[[], T], *, transaction_id: Any, exchanges: Iterable[Exchange], what: str
) -> T:
    """Write what a provider said, on a new connection if need be. If it cannot be written
    at all, the exchanges go to the log and the caller is told the outcome is unknown (110,
    with our transaction id): the provider may have acted, so the register must ask, not
    send again."""
    try:
        return on_live_connection(write, what=what)
    except CONNECTION_ERRORS:
        if connection.in_atomic_block:
            raise  # inside a caller's transaction: the caller's to handle
        exchanges = list(exchanges)
        logger.exception(
            "could not record %s for %s; exchanges: %s",
            what,
            transaction_id,
            [vars(exchange) for exchange in exchanges],
        )
        metrics.observe_unjournaled(exchanges)
        raise ApplicationError.outcome_unknown(transaction_id) from None
