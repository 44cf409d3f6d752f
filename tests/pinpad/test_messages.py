"""The message layouts: Concert E/E+ (public) and our TLV extension."""

import pytest

from pinpad.link import frame, lrc
from pinpad.messages import (
    Action,
    ConcertAnswer,
    ConcertRequest,
    MessageError,
    PinpadAnswer,
    PinpadRequest,
    decode_tlv,
    encode_tlv,
    mask_pan,
    mask_pans_in,
)
from pinpad.service import Status, classify


def test_e_plus_purchase_frame_bytes_and_lrc_match_the_reference() -> None:
    # 10.00 UZS, REP wanted: POS 01, amount, IND 1, card, debit, 860, 10 spaces, A010, B010.
    payload = ConcertRequest(amount=1000).encode()
    assert payload == b"0100001000110860" + b" " * 10 + b"A010B010"
    assert len(payload) == 34
    assert frame(payload) == b"\x02" + payload + b"\x03\x0e"
    assert lrc(payload + b"\x03") == 0x0E


def test_e_request_without_the_plus_fields() -> None:
    payload = ConcertRequest(amount=1000, delay=None, authorization=None).encode()
    assert len(payload) == 26
    assert lrc(payload + b"\x03") == 0x0D


def test_short_concert_answer_decodes_and_its_lrc_matches() -> None:
    payload = b"010000010001860" + b" " * 10
    assert lrc(payload + b"\x03") == 0x3C
    assert len(frame(payload)) == 28
    answer = ConcertAnswer.decode(payload)
    assert (answer.pos, answer.status, answer.amount, answer.currency) == ("01", "0", 1000, "860")


def test_long_concert_answer_carries_rep() -> None:
    rep = "986009******7856".ljust(55)
    payload = ("010000010001" + rep + "860" + "ORDER00001").encode()
    answer = ConcertAnswer.decode(payload)
    assert answer.rep.strip() == "986009******7856"
    assert answer.private == "ORDER00001"


def test_concert_cannot_carry_large_uzs_amounts() -> None:
    with pytest.raises(MessageError):
        ConcertRequest(amount=100_000_000).encode()


def test_tlv_puts_cz_first_and_round_trips() -> None:
    raw = encode_tlv({"CA": "01", "CB": "000000050000"})
    assert raw == b"CZ0040300CA00201CB012000000050000"
    assert decode_tlv(raw) == {"CZ": "0300", "CA": "01", "CB": "000000050000"}


@pytest.mark.parametrize(
    "raw",
    [b"CA00201", b"CZ004030", b"CZ0040300ca00201", b"CZ0040300CA0x201", b"CZ0040300CA002\xd001"],
)
def test_malformed_tlv_is_refused(raw: bytes) -> None:
    with pytest.raises(MessageError):
        decode_tlv(raw)


def test_a_tag_may_not_appear_twice_apart() -> None:
    with pytest.raises(MessageError):
        decode_tlv(b"CZ0040300CA00201CB0011CA00202")


def test_purchase_request_round_trips() -> None:
    request = PinpadRequest(Action.PURCHASE, order_id="a" * 32, amount=50000)
    raw = request.encode()
    assert b"CB012000000050000" in raw
    assert b"CE003860" in raw
    assert PinpadRequest.decode(raw) == request


def test_answer_with_a_long_cyrillic_slip_stays_7_bit_and_round_trips() -> None:
    slip = "ОДОБРЕНО\nКод ответа:\n000\n" * 60  # longer than one 999-character field
    answer = PinpadAnswer(
        action=Action.PURCHASE,
        done=True,
        host_code="000",
        order_id="abc",
        amount=50000,
        rrn="633112345678",
        auth_code="728892",
        masked_pan="986009******7856",
        terminal_id="01000002",
        slip=slip,
    )
    raw = answer.encode()
    assert max(raw) < 0x80
    assert raw.count(b"XS999") >= 2
    assert PinpadAnswer.decode(raw) == answer


def test_answer_needs_action_and_status() -> None:
    with pytest.raises(MessageError):
        PinpadAnswer.decode(encode_tlv({"CD": "0"}))


# --- what an answer may say, and how it is read -------------------------------------------


def answer_fields(**overrides: str) -> dict[str, str]:
    fields = {"CA": "01", "CD": "0", "AE": "10", "CE": "860", "CB": "000000050000"}
    fields.update(overrides)
    return {tag: value for tag, value in fields.items() if value}


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("XR", "12345678901"),  # an RRN is 12 digits
        ("XR", "1234567890AB"),
        ("XH", "00"),
        ("AC", "12345678901"),  # an authorisation code is at most 10 characters
        ("AA", "986009-7856"),
        ("CA", "1"),
        ("CE", "86O"),
        ("XT", "01 000002"),
    ],
)
def test_a_field_that_breaks_its_rule_makes_the_answer_garbled(tag: str, value: str) -> None:
    with pytest.raises(MessageError, match=tag):
        PinpadAnswer.decode(encode_tlv(answer_fields(**{tag: value})))


def test_control_bytes_anywhere_make_the_answer_garbled() -> None:
    raw = encode_tlv(answer_fields(XR="231511584547")).replace(b"2315", b"23\x0015")
    with pytest.raises(MessageError, match="control bytes"):
        PinpadAnswer.decode(raw)


def test_a_full_card_number_is_masked_on_reading() -> None:
    answer = PinpadAnswer.decode(encode_tlv(answer_fields(AA="9860091234567856")))
    assert answer.masked_pan == "986009******7856"
    assert mask_pan("4111111111111111111") == "411111*********1111"
    assert mask_pans_in("Карта 9860 0912 3456 7856 RRN:231511584547") == (
        "Карта 986009******7856 RRN:231511584547"  # 12 digits are an RRN, not a card
    )


@pytest.mark.parametrize(
    ("done", "host_code", "status"),
    [
        ("10", "000", Status.APPROVED),
        ("01", "116", Status.DECLINED),
        ("01", "984", Status.BUSY),
        ("10", "116", Status.UNKNOWN),  # done, with a refusal code: which is it?
        ("01", "000", Status.UNKNOWN),  # not done, with a success code
        ("10", "", Status.APPROVED),  # the public V3 tags alone: AE decides
        ("01", "", Status.DECLINED),
    ],
)
def test_declined_only_on_positive_evidence(done: str, host_code: str, status: Status) -> None:
    answer = PinpadAnswer.decode(encode_tlv(answer_fields(AE=done, XH=host_code)))
    assert classify(answer) is status
