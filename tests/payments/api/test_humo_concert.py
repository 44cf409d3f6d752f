"""The PIN pad speaking the public Concert E+ layout (PINPAD_PROTOCOL=concert-e+): a
purchase and a reversal end to end, and what E+ cannot carry refused before anything is
sent."""

import os
import select
import time

import pytest

from payments.models import Operation, Payment, PaymentStatus
from pinpad.link import ACK, ENQ, EOT, ETX, STX, frame, lrc
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def xumo(api, **body) -> dict:
    return post_json(api, "/payment/xumo", body)


def test_a_purchase_and_its_reversal_in_concert_e_plus(api, pinpad_e_plus) -> None:
    bought = xumo(api, amount=50000)
    assert bought["is_success"] is True
    assert bought["data"]["ppt_id"] == ""  # E+ answers carry no RRN
    transaction_id = bought["data"]["transaction_id"]
    purchase = Payment.objects.get()
    assert (purchase.status, purchase.masked_card) == (PaymentStatus.PAID, "986009******7856")
    # No RRN to name it by: the register names the purchase by our transaction id.
    back = xumo(api, amount=20000, request_id=transaction_id, is_return=True)
    assert back["is_success"] is True
    purchase.refresh_from_db()
    assert (purchase.status, purchase.reversed_amount) == (PaymentStatus.PAID, 20000)
    assert Payment.objects.get(operation=Operation.REVERSAL).status == PaymentStatus.PAID
    assert [(action, amount) for action, amount, _ in pinpad_e_plus.requests] == [
        ("0", 50000),
        ("2", 20000),
    ]


def test_an_amount_e_plus_cannot_carry_is_refused_before_anything_is_sent(
    api, pinpad_e_plus
) -> None:
    body = xumo(api, amount=100_000_000)  # 1 000 000.00 UZS: nine digits
    assert body["error"]["code"] == 108
    assert body["error"]["data"]["reason"] == "unsupported"
    assert pinpad_e_plus.requests == []
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_the_end_of_day_is_not_in_e_plus(api, pinpad_e_plus) -> None:
    body = api.get("/payment/xumo_close").json()
    assert body["error"]["code"] == 108
    assert body["error"]["data"]["reason"] == "unsupported"
    assert pinpad_e_plus.requests == []


def test_a_concert_client_written_from_the_public_layout_gets_an_approval(pinpad_e_plus) -> None:
    """A cash register's own Concert driver, as the public layout describes it: the 34
    characters of an E+ request, and the 83 bytes of the answer with the REP field."""
    fd = os.open(pinpad_e_plus.line.path, os.O_RDWR | os.O_NOCTTY)

    def read(count: int = 1, wait: float = 5.0) -> bytes:
        data = b""
        deadline = time.monotonic() + wait
        while len(data) < count and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if ready:
                data += os.read(fd, count - len(data))
        return data

    try:
        os.write(fd, bytes([ENQ]))
        assert read() == bytes([ACK])
        request = b"01" + b"00050000" + b"1" + b"1" + b"0" + b"860" + b"REG-000042" + b"A010B010"
        assert len(request) == 34
        os.write(fd, frame(request))
        assert read() == bytes([ACK])
        os.write(fd, bytes([EOT]))
        assert read(wait=10.0) == bytes([ENQ])  # the terminal opens its answer session
        os.write(fd, bytes([ACK]))
        answer = read(83)
        assert len(answer) == 83
        assert (answer[0], answer[-2]) == (STX, ETX)
        assert answer[-1] == lrc(answer[1:-1])
        os.write(fd, bytes([ACK]))
        assert read() == bytes([EOT])
    finally:
        os.close(fd)
    text = answer[1:-2].decode("ascii")
    assert text[0:2] == "01"  # our POS number
    assert text[2] == "0"  # accepted
    assert text[3:11] == "00050000"
    assert text[67:70] == "860"
    assert text[70:80] == "REG-000042"  # our private data, echoed
