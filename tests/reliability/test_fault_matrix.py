"""The fault matrix: every provider and PIN-pad call under every fault.

Each cell runs the register's request with the fault injected at the emulator, then lets
the operators' commands settle what was left open (`reconcile`, `retry_fiscal`), and holds
three promises:

- the register's answer is the one the cell expects (`EXPECTED_CODE`), and a true one:
  success only if the money moved, a failure (104/108) only if it certainly did not, 110
  while nobody can know;
- the provider (or terminal) took at most one charge (for a reversal row: gave back at
  most once);
- after the commands, the payment is in its true final state (what the emulator did).

The observed cells are collected into `.run/fault-matrix.json`; `python -m
tests.reliability.report` turns them into docs/reliability.md.
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.models import FiscalStatus, Operation, Payment, PaymentStatus
from providers.uzum.gateway import REPEAT_AFTER
from tests.helpers import SEED_URL, closed_port, post_json

pytestmark = pytest.mark.django_db

HTTP_FAULTS = [
    "refused",
    "timeout_before",
    "timeout_after",
    "server_error",
    "not_json",
    "reset",
    "reset_after",
]


@dataclass(frozen=True)
class Call:
    provider: str
    name: str  # as the matrix shows it
    operation: str  # as the emulator and the journal name it
    run: Callable  # (api, arm) -> the register's answer; `arm()` injects the fault
    refusable: bool = False  # the call can meet a closed port without the ones before it


def answer_code(body: dict) -> int:
    return 0 if body["is_success"] else body["error"]["code"]


# --- the flows -------------------------------------------------------------------------------


def charge(provider: str, code: str) -> Callable:
    def run(api, arm) -> dict:
        arm()
        return post_json(api, f"/payment/{provider}", {"amount": 500, "qr_code": code})

    return run


# What each provider's confirm names the payment and the receipt URL, and a code it takes.
CONFIRM_FIELDS = {
    "click": ("payment_id", "qrcode"),
    "payme": ("payme_id", "qr_code_url"),
    "uzum": ("payment_id", "qr_code"),
}
UZUM_CODE = "7700:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="
PAID_CODE = {"click": "7700112233", "payme": "7700112233", "uzum": UZUM_CODE}


def fiscal(provider: str, post: Callable = post_json) -> Callable:
    """A paid charge, then the fault is armed, then the register's fiscal confirm (sent
    with `post`)."""

    def run(api, arm) -> dict:
        code = PAID_CODE[provider]
        paid = post(api, f"/payment/{provider}", {"amount": 500, "qr_code": code})
        assert paid["is_success"], paid
        arm()  # the charge went through; the fault meets the fiscal call
        reference, field = CONFIRM_FIELDS[provider]
        return post(
            api,
            f"/payment/{provider}_confirm",
            {reference: paid["data"]["payment_id"], field: SEED_URL},
        )

    return run


def refund(provider: str) -> Callable:
    """A paid charge, then the fault is armed, then the register's refund of all of it."""

    def run(api, arm) -> dict:
        code = PAID_CODE[provider]
        paid = post_json(api, f"/payment/{provider}", {"amount": 500, "qr_code": code})
        assert paid["is_success"], paid
        arm()
        body = {"transaction_id": paid["data"]["transaction_id"]}
        return post_json(api, "/payment/refund", body)

    return run


CALLS = [
    Call("click", "CLICK pay", "click_pass/payment", charge("click", "7700112233"), refusable=True),
    Call("click", "CLICK confirm", "click_pass/confirm", charge("click", "9909000001")),
    Call("click", "CLICK status", "payment/status", charge("click", "99021000001")),
    Call(
        "click", "CLICK fiscal", "payment/ofd_data/submit_qrcode", fiscal("click"), refusable=True
    ),
    Call("payme", "Payme create", "receipts.create", charge("payme", "7700112233"), refusable=True),
    Call("payme", "Payme pay", "receipts.pay", charge("payme", "7700112233")),
    Call("payme", "Payme check", "receipts.check", charge("payme", "98021000001")),
    Call("payme", "Payme cancel", "receipts.cancel", charge("payme", "9808000001")),
    Call("payme", "Payme fiscal", "receipts.set_fiscal_data", fiscal("payme"), refusable=True),
    Call("uzum", "Uzum pay", "v2/payment", charge("uzum", UZUM_CODE), refusable=True),
    # In process (HOLD), paid at the first status call that Uzum processes.
    Call("uzum", "Uzum status", "payment/status", charge("uzum", "99091" + UZUM_CODE[5:])),
    Call("uzum", "Uzum fiscal", "payment/fiscal", fiscal("uzum"), refusable=True),
    Call("click", "CLICK refund", "payment/reversal", refund("click"), refusable=True),
    Call("payme", "Payme refund", "receipts.cancel", refund("payme"), refusable=True),
    Call("uzum", "Uzum refund", "payment/reversal", refund("uzum"), refusable=True),
]


# The one answer each cell expects, by fault in HTTP_FAULTS' order (None: does not apply).
# 0 success (the money moved and we know it), 104 a certain refusal, 110 nobody can know
# yet. A decline answered 110, or a success answered 104, fails its cell.
EXPECTED_CODE = {
    "CLICK pay": [104, 110, 0, 110, 0, 110, 0],
    "CLICK confirm": [None, 110, 0, 110, 0, 110, 0],
    "CLICK status": [None, 110, 110, 110, 110, 110, 110],
    "CLICK fiscal": [104, 104, 0, 104, 0, 104, 0],
    "Payme create": [104, 0, 0, 0, 0, 0, 0],
    "Payme pay": [None, 104, 0, 104, 0, 104, 0],
    "Payme check": [None, 110, 110, 110, 110, 110, 110],
    "Payme cancel": [None, 110, 110, 110, 110, 110, 110],
    # Payme cannot be asked whether it holds a receipt: a cut answer is a refusal until
    # retry_fiscal sends it again.
    "Payme fiscal": [104, 104, 104, 104, 104, 104, 104],
    # Uzum has no lookup by our id, and a lost charge may be repeated only once its 50 s
    # window has shut: every lost answer is 110 to the register, settled by reconcile.
    "Uzum pay": [104, 110, 110, 110, 110, 110, 110],
    "Uzum status": [None, 110, 110, 110, 110, 110, 110],
    # Uzum cannot be asked whether it holds a receipt: as Payme.
    "Uzum fiscal": [104, 104, 104, 104, 104, 104, 104],
    # A refund whose answer is lost is asked about at once, never sent again: the provider's
    # status of the purchase says whether the money went back (0: reversed; Payme's 21,
    # still going back, is 0 with "processing" too) or not (104, on its word). A lookup that
    # gets no answer either leaves 110 for reconcile (tests/payments/services/test_refunds.py).
    "CLICK refund": [104, 104, 0, 104, 0, 104, 0],
    "Payme refund": [104, 104, 0, 104, 0, 104, 0],
    "Uzum refund": [104, 104, 0, 104, 0, 104, 0],
}


def expected(call: str, fault: str) -> int | None:
    return EXPECTED_CODE[call][HTTP_FAULTS.index(fault)]


def settle(shut_after: timedelta = timedelta(0)) -> None:
    """What the operators run: reconcile, then the fiscal retries (all due now). With
    `shut_after`, they run that long after the payment was made (a provider's window for
    repeating a request has shut by then)."""
    Payment.objects.update(fiscal_next_attempt_at=timezone.now())
    if shut_after:
        Payment.objects.update(created_at=timezone.now() - shut_after)
    for command in (("reconcile", "--min-age", "0"), ("retry_fiscal",)):
        # "needs a person" (exit 2) is judged below, by the payment's state.
        with contextlib.suppress(CommandError):
            call_command(*command, stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize(
    "absence_trusted",
    [True, False],
    ids=["not-found-is-failed", "production-default"],
)
@pytest.mark.parametrize("fault", HTTP_FAULTS)
@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name.replace(" ", "-"))
def test_provider_call_under_fault(
    api,
    click,
    payme,
    uzum,
    click_server,
    payme_server,
    uzum_server,
    settings,
    monkeypatch,
    matrix,
    call,
    fault,
    absence_trusted: bool,
) -> None:
    """With RECONCILE_NOT_FOUND_IS_FAILED on (the emulators are the truth), every cell ends
    in its true state. With the production default (off), a payment the provider says it
    does not know is not taken as failed: it waits for a person, flagged."""
    table = "provider" if absence_trusted else "provider, production default"
    if fault == "refused" and not call.refusable:
        matrix.append({"table": table, "call": call.name, "fault": fault, "applies": False})
        pytest.skip(
            "the same host answered the calls before it: a refused connection is another cell"
        )
    settings.RECONCILE_NOT_FOUND_IS_FAILED = absence_trusted
    server = {"click": click_server, "payme": payme_server, "uzum": uzum_server}[call.provider]
    url_setting = f"{call.provider.upper()}_BASE_URL"
    real_url = getattr(settings, url_setting)

    def arm() -> None:
        if fault == "refused":
            setattr(settings, url_setting, f"http://127.0.0.1:{closed_port()}/")
        else:
            server.faults.inject(call.operation, fault)

    try:
        body = call.run(api, arm)
    finally:
        setattr(settings, url_setting, real_url)
    code = answer_code(body)
    monkeypatch.setattr(click, "confirm_window", 0)  # CLICK cancels what was not confirmed
    settle(shut_after=REPEAT_AFTER if call.provider == "uzum" else timedelta(0))

    payment = Payment.objects.get(operation=Operation.PURCHASE)
    if call.name.endswith("refund"):
        # A cell of money given back: "charges" counts the reversals the provider did.
        charges = server.emulator.stats()["reversals_by_code"].get(payment.qr_code, 0)
        final = payment.status
        truth = PaymentStatus.REVERSED if charges else PaymentStatus.PAID
        true_answer = (code == 0 and charges) or (code == 104 and not charges) or code == 110
        made = Payment.objects.get(reverses=payment)
        settled = not made.is_open and not made.needs_attention
        holds = (
            code == expected(call.name, fault)
            and bool(true_answer)
            and final == truth
            and settled
            and charges <= 1
        )
    elif call.name.endswith("fiscal"):
        charges = 1
        final = payment.fiscal_status
        holds = (
            code == expected(call.name, fault)
            and final == FiscalStatus.SUBMITTED
            and receipt_on_file(server, payment)
        )
    else:
        charges = server.emulator.stats()["charges_by_code"].get(payment.qr_code, 0)
        final = payment.status
        truth = PaymentStatus.PAID if charges else PaymentStatus.FAILED
        # The expected answer must also be a true one: success only with the money moved,
        # a refusal only without.
        true_answer = (code == 0 and charges) or (code == 104 and not charges) or code == 110
        right_answer = code == expected(call.name, fault) and true_answer
        waits = payment.is_open and payment.needs_attention and truth == PaymentStatus.FAILED
        if waits and not absence_trusted:
            final = "flagged"  # a person settles what the provider does not know
        holds = bool(right_answer) and final in (truth, "flagged") and charges <= 1
    broken = observed(
        matrix, table, call.name, fault, code=code, charges=charges, final=final, holds=holds
    )
    assert broken == ""


# --- the PIN pad -------------------------------------------------------------------------

# Fault -> the amount's last three digits that script it in the emulator.
LINE_FAULTS = {
    "NAK": 902,
    "bad LRC": 903,
    "truncated frame": 904,
    "silence (done)": 906,
    "silence (not done)": 907,
    "unplug": 908,
    "no ACK/NAK": 910,
}


# The one answer each PIN-pad cell expects, purchase and cancel alike, by LINE_FAULTS' order:
# a link fault the link layer recovers from is a success; silence, an unplug and a frame
# nobody confirmed leave the outcome to the last-transaction query and a person.
LINE_EXPECTED_CODE = [0, 0, 0, 0, 110, 110, 110]


@pytest.mark.parametrize("fault", list(LINE_FAULTS))
@pytest.mark.parametrize("operation", ["purchase", "cancel"])
def test_pinpad_call_under_fault(api, pinpad, matrix, operation: str, fault: str) -> None:
    scripted = 50000 + LINE_FAULTS[fault]
    if operation == "purchase":
        body = post_json(api, "/payment/xumo", {"amount": scripted})
        payment = Payment.objects.get()
    else:
        rrn = post_json(api, "/payment/xumo", {"amount": 99999})["data"]["ppt_id"]
        body = post_json(
            api, "/payment/xumo", {"amount": scripted, "request_id": rrn, "is_return": True}
        )
        payment = Payment.objects.get(operation=Operation.REVERSAL)
    code = answer_code(body)
    settle()
    payment.refresh_from_db()

    done = [
        t for t in pinpad.transactions if t.order_id == payment.transaction_id.hex and t.approved
    ]
    charges = len(done)
    truth = PaymentStatus.PAID if done else PaymentStatus.FAILED
    true_answer = (code == 0 and done) or (code == 108 and not done) or code == 110
    right_answer = code == LINE_EXPECTED_CODE[list(LINE_FAULTS).index(fault)] and true_answer
    holds = right_answer and payment.status == truth and charges <= 1
    if operation == "cancel" and holds:
        # A part of the purchase is given back: it stays paid and shows how much.
        purchase = Payment.objects.get(operation=Operation.PURCHASE)
        given_back = scripted if done else 0
        holds = (purchase.status, purchase.reversed_amount) == (PaymentStatus.PAID, given_back)
    broken = observed(
        matrix,
        "PIN pad",
        f"PIN pad {operation}",
        fault,
        code=code,
        charges=charges,
        final=payment.status,
        holds=bool(holds),
    )
    assert broken == ""


# --- helpers ---------------------------------------------------------------------------------


def observed(
    matrix: list[dict],
    table: str,
    call: str,
    fault: str,
    *,
    code: int,
    charges: int,
    final: str,
    holds: bool,
) -> str:
    """Keep the cell for the report; say what broke its promises (never two charges, the
    expected and true answer, the true final state), or "" when they held."""
    cell = {"table": table, "call": call, "fault": fault, "applies": True, "code": code}
    matrix.append(cell | {"charges": charges, "final": str(final), "holds": holds})
    if charges <= 1 and holds:
        return ""
    return f"{call} x {fault}: answer {code}, {charges} charge(s), ended {final}"


def receipt_on_file(server, payment: Payment) -> bool:
    emulator = server.emulator
    if payment.provider == "click":
        return emulator.payments[int(payment.provider_payment_id)].ofd_qrcode == SEED_URL
    if payment.provider == "uzum":
        return emulator.payments[payment.provider_payment_id].fiscal_url == SEED_URL
    return emulator.receipts[payment.provider_payment_id].fiscal_data.get("qr_code_url") == SEED_URL
