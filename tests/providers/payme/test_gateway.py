"""How the Payme gateway reads receipt states (reference §7)."""

import pytest

from providers.base import Outcome
from providers.payme.gateway import state_result


@pytest.mark.parametrize("state", [0, 1, 2, 3, 5, 6, 30])
def test_states_in_progress_are_pending(state: int) -> None:
    result = state_result(state, "r1")
    assert result.outcome is Outcome.PENDING
    assert result.provider_status == str(state)


def test_only_state_4_is_paid() -> None:
    assert state_result(4, "r1").outcome is Outcome.SUCCESS
    paid_like = [s for s in range(0, 60) if state_result(s, "r1").outcome is Outcome.SUCCESS]
    assert paid_like == [4]


@pytest.mark.parametrize("state", [21, 50])
def test_cancelled_states_are_failed(state: int) -> None:
    assert state_result(state, "r1").outcome is Outcome.FAILED


def test_state_20_is_unknown_and_needs_a_person() -> None:
    result = state_result(20, "r1")
    assert result.outcome is Outcome.UNKNOWN
    assert result.needs_attention


def test_no_state_is_unknown() -> None:
    assert state_result(None, "r1").outcome is Outcome.UNKNOWN
