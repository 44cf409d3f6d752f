"""The Uzum gateway against the emulator over real HTTP: every kind of answer, and a lost
answer settled by sending the identical charge again, never charging twice."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from providers.base import OfdReceipt, Outcome, PaymentData, RegisterInfo
from providers.uzum.gateway import GATEWAY as UZUM
from providers.uzum.gateway import UzumAccount
from tests.conftest import UZUM_SECRET
from tests.factories import refund_data
from tests.helpers import SEED_URL

ISSUED = datetime(2023, 1, 4, 12, 18, 1)  # noqa: DTZ001 - local, as the receipt prints it
TAIL = "0" * 36  # codes are 40 characters at least; the first four pick the behaviour
_serial = iter(range(10**6))


def payment(uzum_server, scenario: str = "7700", **changes) -> PaymentData:
    """A payment made an hour ago (so a lost answer may be repeated at once)."""
    number = next(_serial)
    data = PaymentData(
        transaction_id=f"0b0f6a3e-6f53-4a63-9c55-{number:012d}",
        amount=250000,
        created_at=datetime.now(UTC) - timedelta(hours=1),
        account=UzumAccount(uzum_server.url, 4012, "8461", UZUM_SECRET),
        register=RegisterInfo(inn="1", kkm_id="K1", device_id="D1", cashbox_code="POS-07"),
        qr_code=f"{scenario}{number:06d}{TAIL[:30]}",
    )
    return replace(data, **changes)


def test_a_code_is_paid_once_and_its_status_says_so(uzum, uzum_server) -> None:
    data = payment(uzum_server)
    paid = UZUM.charge(data)
    assert paid.outcome is Outcome.SUCCESS
    assert paid.payer_phone == "998901112233"
    checked = UZUM.check(replace(data, provider_payment_id=paid.provider_payment_id))
    assert (checked.outcome, checked.provider_status) == (Outcome.SUCCESS, "SUCCESS")
    again = UZUM.charge(payment(uzum_server, qr_code=data.qr_code))
    assert (again.outcome, again.message) == (Outcome.FAILED, "qr.duplicated")
    assert uzum.stats()["charges"] == 1


@pytest.mark.parametrize(
    ("scenario", "code", "key"),
    [
        ("9901", 400, "operation.failed"),
        ("9902", 416, "apelsin.pay.safe.mode.on"),
        ("9903", 400, "apelsin.pay.user.otp.data.expired"),
        ("9912", 503, "apelsin.pay.service.not.working"),
        ("9915", 400, "limit.was.set"),
    ],
)
def test_declines_carry_uzums_code_and_key(uzum, uzum_server, scenario, code, key) -> None:
    result = UZUM.charge(payment(uzum_server, scenario))
    assert (result.outcome, result.code, result.message) == (Outcome.FAILED, code, key)
    assert uzum.stats()["charges"] == 0


@pytest.mark.parametrize("scenario", ["9904", "9905", "9908"])
def test_nothing_charged_and_no_answer_then_the_repeat_charges_once(
    uzum, uzum_server, scenario
) -> None:
    data = payment(uzum_server, scenario)
    assert UZUM.charge(data).outcome is Outcome.UNKNOWN
    assert uzum.stats()["charges"] == 0
    # The scenario code hangs or fails again when repeated: the repeat names what the first
    # request asked, so a code that always fails stays unknown, and is never charged.
    assert UZUM.check(data).outcome is Outcome.UNKNOWN
    assert uzum.stats()["charges"] == 0


@pytest.mark.parametrize("scenario", ["9906", "9907", "9913"])
def test_charged_but_the_answer_lost_is_found_paid_by_the_repeat(
    uzum, uzum_server, scenario
) -> None:
    data = payment(uzum_server, scenario)
    assert UZUM.charge(data).outcome is Outcome.UNKNOWN
    found = UZUM.check(data)
    assert found.outcome is Outcome.SUCCESS
    assert [e.operation for e in found.exchanges] == ["v2/payment", "payment/status"]
    assert uzum.stats()["charges_by_code"] == {data.qr_code: 1}
    assert uzum.stats()["charge_requests"] == 2  # the charge, and its identical repeat


def test_a_young_lost_answer_waits_for_uzums_window(uzum, uzum_server) -> None:
    data = payment(uzum_server, "9907", created_at=timezone.now())
    UZUM.charge(data)
    assert UZUM.check(data).outcome is Outcome.UNKNOWN
    assert uzum.stats()["charge_requests"] == 1


def test_a_repeat_refused_by_order_goes_to_a_person(uzum, uzum_server) -> None:
    uzum.duplicate_answer = "key"  # Uzum's other documented answer to a repeated order
    data = payment(uzum_server, "9907")
    UZUM.charge(data)
    result = UZUM.check(data)
    assert (result.outcome, result.needs_attention) == (Outcome.UNKNOWN, True)
    assert result.message.startswith("order.id.duplicated")
    assert uzum.stats()["charges"] == 1


@pytest.mark.parametrize(
    ("scenario", "final"), [("99092", Outcome.SUCCESS), ("99112", Outcome.FAILED)]
)
def test_in_process_is_pending_until_the_status_is_final(uzum, uzum_server, scenario, final):
    data = payment(uzum_server, scenario[:4], qr_code=scenario + "0" * 39)
    first = UZUM.charge(data)
    assert first.outcome is Outcome.PENDING
    data = replace(data, provider_payment_id=first.provider_payment_id)
    assert UZUM.check(data).outcome is Outcome.PENDING
    assert UZUM.check(data).outcome is final


def test_in_process_without_an_id_is_found_by_the_repeat(uzum, uzum_server) -> None:
    data = payment(uzum_server, "9910", qr_code="99101" + "0" * 39)
    assert UZUM.charge(data).outcome is Outcome.UNKNOWN
    found = UZUM.check(data)  # DUPLICATED names it; its status is read at once
    assert found.outcome is Outcome.SUCCESS
    assert uzum.stats()["charges"] == 1


def test_reversal_and_fiscal_link(uzum, uzum_server) -> None:
    data = payment(uzum_server)
    data = replace(data, provider_payment_id=UZUM.charge(data).provider_payment_id)
    receipt = OfdReceipt(SEED_URL, "UZ170703100597", "2421", ISSUED, "514343190161")
    assert UZUM.submit_fiscal(data, receipt).outcome is Outcome.SUCCESS
    assert uzum.payments[data.provider_payment_id].fiscal_url == SEED_URL
    refund = refund_data(data)
    assert UZUM.reverse(refund).outcome is Outcome.SUCCESS
    assert UZUM.check(data).provider_status == "REVERSED"
    assert UZUM.check(refund).outcome is Outcome.SUCCESS  # the refund: done
    assert UZUM.reverse(refund).outcome is Outcome.SUCCESS  # already reversed: done
