"""The state machine as plain code: no database, every rule answered from values alone."""

from datetime import UTC, datetime, timedelta

import pytest

from payments import states
from payments.states import Decided, Fiscal, Illegal, Intended, State, Status
from providers.base import GatewayResult, Outcome

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def decide(state: State, **intended) -> Decided | Illegal:
    return states.decide(state, Intended(**intended), now=NOW)


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        (Status.PROCESSING, Status.PAID, True),
        (Status.UNKNOWN, Status.FAILED, True),
        (Status.PAID, Status.REVERSED, True),
        (Status.PAID, Status.FAILED, False),
        (Status.FAILED, Status.PAID, False),
        (Status.REVERSED, Status.PAID, False),
        (Status.CREATED, Status.PAID, False),
    ],
)
def test_a_status_moves_only_where_the_machine_allows(current, wanted, allowed) -> None:
    decided = decide(State(current, Fiscal.NOT_REQUIRED), status=wanted)
    if allowed:
        assert isinstance(decided, Decided)
        assert (decided.from_status, decided.to_status) == (current, wanted)
    else:
        assert decided == Illegal("status", current, wanted)


def test_paid_stamps_the_time_takes_the_flag_off_and_waits_for_a_receipt() -> None:
    qr = State(Status.PROCESSING, Fiscal.NOT_REQUIRED, takes_receipt=True)
    decided = decide(qr, status=Status.PAID)
    assert isinstance(decided, Decided)
    assert decided.fields == {
        "status": Status.PAID,
        "paid_at": NOW,
        "needs_attention": False,
        "fiscal_status": Fiscal.PENDING,
    }
    card = decide(State(Status.PROCESSING, Fiscal.NOT_REQUIRED), status=Status.PAID)
    assert isinstance(card, Decided)
    assert "fiscal_status" not in card.fields  # a HUMO purchase prints its own slip


def test_fields_alone_are_no_step_of_the_timeline() -> None:
    decided = decide(State(Status.PAID, Fiscal.PENDING), fields={"provider_message": "ok"})
    assert isinstance(decided, Decided)
    assert not decided.moves
    assert not decided.is_step
    assert decided.fields == {"provider_message": "ok"}


@pytest.mark.parametrize(
    ("flagged_now", "wanted", "step"),
    [(False, True, True), (True, False, False), (True, True, None), (False, False, None)],
)
def test_a_person_asked_for_or_let_go_is_a_step_of_the_timeline(flagged_now, wanted, step) -> None:
    state = State(Status.UNKNOWN, Fiscal.NOT_REQUIRED, needs_attention=flagged_now)
    decided = decide(state, fields={"needs_attention": wanted})
    assert isinstance(decided, Decided)
    assert not decided.moves
    assert decided.flagged is step
    assert decided.is_step is (step is not None)


def test_a_submitted_receipt_stays_submitted() -> None:
    decided = decide(State(Status.PAID, Fiscal.SUBMITTED), fiscal_status=Fiscal.FAILED)
    assert decided == Illegal("fiscal_status", Fiscal.SUBMITTED, Fiscal.FAILED)


@pytest.mark.parametrize(
    ("outcome", "not_found", "trusted", "status"),
    [
        (Outcome.SUCCESS, False, False, Status.PAID),
        (Outcome.FAILED, False, False, Status.FAILED),
        (Outcome.PENDING, False, False, Status.PROCESSING),
        (Outcome.UNKNOWN, False, True, None),  # no answer changes nothing
        (Outcome.UNKNOWN, True, False, None),  # "no such payment" proves nothing by default
        (Outcome.UNKNOWN, True, True, Status.FAILED),  # where the absence is trusted
    ],
)
def test_what_a_lookup_says_of_an_open_payment(outcome, not_found, trusted, status) -> None:
    said = states.lookup_status(outcome, not_found=not_found, absence_trusted=trusted)
    assert said == status


def test_only_a_final_outcome_is_the_providers_last_word() -> None:
    assert [o for o in Outcome if states.is_final(o)] == [Outcome.SUCCESS, Outcome.FAILED]


def test_an_answer_brings_its_fields_and_its_status() -> None:
    result = GatewayResult(Outcome.FAILED, provider_payment_id="77", code=-5017, message="declined")
    intended = states.answer_intended(
        result, states.CHARGE_STATUS, provider_status="1", provider_message="first note"
    )
    assert intended.status == Status.FAILED
    assert intended.fields == {
        "provider_status": "1",
        "provider_code": "-5017",
        "provider_message": "declined",  # a refusal says why, over the first note
        "provider_payment_id": "77",
    }


def test_a_provider_that_wants_a_person_flags_and_keeps_it_open() -> None:
    result = GatewayResult(Outcome.UNKNOWN, message="manual review", needs_attention=True)
    intended = states.answer_intended(
        result, states.CHECK_STATUS, provider_status="", provider_message=""
    )
    assert (intended.status, intended.fields["needs_attention"]) == (Status.UNKNOWN, True)


def test_an_id_that_is_another_payments_never_makes_this_one_paid() -> None:
    paid = Intended(Status.PAID, None, {"provider_payment_id": "77", "payer_phone": "998"})
    taken = states.identity_taken(paid, "77", "the other one")
    assert taken.status == Status.UNKNOWN
    assert "provider_payment_id" not in taken.fields
    assert taken.fields["needs_attention"] is True
    assert taken.fields["payer_phone"] == "998"


@pytest.mark.parametrize(
    ("claim", "url", "refusal"),
    [
        (states.FiscalClaim(Fiscal.PENDING, "", "", None), "u1", None),
        (states.FiscalClaim(Fiscal.SUBMITTED, "u1", "", None), "u1", "on_file"),
        (states.FiscalClaim(Fiscal.SUBMITTED, "u1", "", None), "u2", "already_fiscalized"),
        (states.FiscalClaim(Fiscal.PENDING, "", "u1", NOW), "u1", "fiscal_in_progress"),
        # One that has run this long died with its process: another may start.
        (
            states.FiscalClaim(Fiscal.PENDING, "", "u1", NOW - timedelta(minutes=6)),
            "u1",
            None,
        ),
    ],
)
def test_one_submission_of_a_receipt_at_a_time(claim, url: str, refusal) -> None:
    assert states.claim_receipt(claim, url, now=NOW) == refusal


def test_settled_by_hand_only_what_was_sent_and_is_unknown() -> None:
    assert [s for s in Status if states.can_settle_by_hand(s)] == [
        Status.PROCESSING,
        Status.UNKNOWN,
    ]
    assert states.SETTLED_BY_HAND == (Status.PAID, Status.FAILED)
