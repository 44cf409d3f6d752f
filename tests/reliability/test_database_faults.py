"""The fault matrix's database rows: our own PostgreSQL lost around a provider call.

The backend that serves the request is terminated (`pg_terminate_backend`) at one of two
moments: before the call (the payment row is committed, the provider has heard nothing)
or during it (the provider acts while our connection dies, so its answer meets a dead
connection). It is either *lost* (a new connection works at once: a restart, a failover)
or *down* (the database refuses connections until the request has been answered).

Each cell holds the same promises as the provider rows: the register's answer is the one
expected and a true one (never 103 once the provider may have acted: 110 with our
transaction id instead), at most one charge, and after `reconcile` and `retry_fiscal` the
payment is in its true final state.
"""

import contextlib
import functools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql

from payments.models import FiscalStatus, Payment, PaymentStatus
from providers import registry
from providers.uzum.gateway import REPEAT_AFTER
from tests.reliability.test_fault_matrix import (
    PAID_CODE,
    answer_code,
    fiscal,
    observed,
    receipt_on_file,
    settle,
)

pytestmark = pytest.mark.django_db(transaction=True)

# (when, how long): the column order of the table.
FAULTS = [
    ("before", "lost"),
    ("during", "lost"),
    ("before", "down"),
    ("during", "down"),
]


@dataclass(frozen=True)
class Flow:
    name: str
    provider: str
    step: str  # the gateway method that is the provider call
    before: str  # what runs first once the payment is committed (patched to kill before it)
    run: Callable  # (api, arm) -> the register's answer; `arm()` sets the fault up
    fiscal: bool = False


def post_json(api, path: str, body: dict) -> dict:
    """POST a JSON body, with an Idempotency-Key as registers send it: HTTP 200 for every
    outcome, but 500 for 103 (our own failure)."""
    response = api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    answer = response.json()
    assert response.status_code == (500 if answer_code(answer) == 103 else 200), answer
    return answer


def charge(provider: str, body: dict) -> Callable:
    def run(api, arm) -> dict:
        arm()
        return post_json(api, f"/payment/{provider}", body)

    return run


SEND = "payments.services.charging.send"
CLAIM = "payments.services.fiscal.claim_fiscal"
QR = {"amount": 500, "qr_code": "7700112233"}
UZUM_QR = {"amount": 500, "qr_code": PAID_CODE["uzum"]}

FLOWS = [
    Flow("CLICK charge", "click", "charge", SEND, charge("click", QR)),
    Flow("Payme charge", "payme", "charge", SEND, charge("payme", QR)),
    Flow("Uzum charge", "uzum", "charge", SEND, charge("uzum", UZUM_QR)),
    Flow("HUMO purchase", "humo", "charge", SEND, charge("xumo", {"amount": 50000})),
    Flow("CLICK fiscal", "click", "submit_fiscal", CLAIM, fiscal("click", post_json), fiscal=True),
    Flow("Payme fiscal", "payme", "submit_fiscal", CLAIM, fiscal("payme", post_json), fiscal=True),
    Flow("Uzum fiscal", "uzum", "submit_fiscal", CLAIM, fiscal("uzum", post_json), fiscal=True),
]

# The one answer each cell expects, in FAULTS' order. Lost: a new connection carries the
# request through. Down during the call: the provider acted, so 110 with our transaction
# id, and the commands settle it later. Down before the call: a charge needs nothing of
# our database between its committed payment and the provider call, so it goes out and
# ends as "down during" (110); a fiscal submission first claims the payment, so nothing is
# sent and 103 is the truth.
EXPECTED_CODE = {flow.name: [0, 0, 103 if flow.fiscal else 110, 110] for flow in FLOWS}


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: "-".join(f))
@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name.replace(" ", "-"))
def test_database_fault(
    api,
    click,
    payme,
    uzum,
    pinpad,
    click_server,
    payme_server,
    uzum_server,
    monkeypatch,
    matrix,
    flow,
    fault,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a backend to terminate is PostgreSQL's")
    when, duration = fault
    kill = functools.partial(terminate_our_connection, keep_out=duration == "down")

    def arm() -> None:
        if when == "before":
            monkeypatch.setattr(flow.before, once_before(kill, _resolve(flow.before)))
        else:
            gateway = registry.GATEWAYS[flow.provider]
            monkeypatch.setattr(gateway, flow.step, once_after(kill, getattr(gateway, flow.step)))

    with database_let_back_in():
        body = flow.run(api, arm)
    monkeypatch.undo()
    code = answer_code(body)
    monkeypatch.setattr(click, "confirm_window", 0)
    # A submission whose answer could not be written is taken up again once abandoned.
    Payment.objects.update(fiscal_sending_since=timezone.now() - timedelta(hours=1))
    settle(shut_after=REPEAT_AFTER if flow.provider == "uzum" else timedelta(0))

    payment = Payment.objects.get()
    if code == 110:  # the register can always ask: it has our transaction id
        assert body["error"]["data"] == {"transaction_id": str(payment.transaction_id)}
    server = {"click": click_server, "payme": payme_server, "uzum": uzum_server}.get(flow.provider)
    if flow.fiscal:
        acted = receipt_on_file(server, payment)
        charges = 1
        final = payment.fiscal_status
        truth = FiscalStatus.SUBMITTED if acted else FiscalStatus.PENDING
    else:
        charges = charges_of(flow, payment, server, pinpad)
        acted = charges > 0
        final = payment.status
        truth = PaymentStatus.PAID if acted else PaymentStatus.FAILED
    right = code == EXPECTED_CODE[flow.name][FAULTS.index(fault)]
    # 103 is true only when the provider certainly did nothing; success only when it did.
    true_answer = code == 110 or (code == 0 and acted) or (code == 103 and not acted)
    holds = right and true_answer and final == truth and charges <= 1
    cell = f"{duration} {when} the call"
    broken = observed(
        matrix, "database", flow.name, cell, code=code, charges=charges, final=final, holds=holds
    )
    assert broken == ""


def charges_of(flow: Flow, payment: Payment, server, pinpad) -> int:
    if flow.provider == "humo":
        approved = [t for t in pinpad.transactions if t.approved]
        return sum(1 for t in approved if t.order_id == payment.transaction_id.hex)
    return server.emulator.stats()["charges_by_code"].get(payment.qr_code, 0)


# --- the fault -------------------------------------------------------------------------------


def _admin() -> psycopg.Connection:
    """A connection of our own to the server's maintenance database."""
    db = connection.settings_dict
    dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname=postgres"
    return psycopg.connect(dsn, autocommit=True)


def _allow_connections(admin: psycopg.Connection, allowed: bool) -> None:
    name = sql.Identifier(connection.settings_dict["NAME"])
    admin.execute(
        sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(name, sql.Literal(allowed))
    )


def terminate_our_connection(*, keep_out: bool) -> None:
    """Terminate the backend behind Django's connection and wait until it is gone; with
    `keep_out`, the database refuses new connections from then on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with _admin() as admin:
        if keep_out:
            _allow_connections(admin, False)
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend outlived its termination"
            time.sleep(0.01)


@contextlib.contextmanager
def database_let_back_in() -> Iterator[None]:
    """The database takes connections again once the request has been answered."""
    try:
        yield
    finally:
        with _admin() as admin:
            _allow_connections(admin, True)


def once_before(kill: Callable[[], None], function: Callable) -> Callable:
    fired = []

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if not fired:
            fired.append(True)
            kill()
        return function(*args, **kwargs)

    return wrapper


def once_after(kill: Callable[[], None], function: Callable) -> Callable:
    fired = []

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        if not fired:
            fired.append(True)
            kill()
        return result

    return wrapper


def _resolve(dotted: str) -> Callable:
    module, _, name = dotted.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)
