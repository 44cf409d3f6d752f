"""Our own sentences in a gateway's result: each written once, each read back from the text
it made (the back office reads yesterday's rows the same way)."""

import pytest

from providers import registry, sayings
from providers.http import Failure, HttpExchange, unanswered

assert registry.GATEWAYS  # every gateway's module is imported, and its sayings with it

EXAMPLES = {"provider": "Uzum", "detail": "ConnectError: refused", "failure": "timeout"}


def filled(saying: sayings.Saying) -> dict[str, str]:
    return {name: EXAMPLES.get(name, f"<{name} 7>") for name in saying.parameters}


@pytest.mark.parametrize("saying", sayings.ALL, ids=lambda s: s.template[:40])
def test_a_saying_is_read_back_from_what_it_wrote(saying) -> None:
    values = filled(saying)
    found = sayings.read(saying(**values))
    assert found == (saying, values)


def test_no_two_sayings_are_one_sentence() -> None:
    templates = [saying.template for saying in sayings.ALL]
    assert len(templates) == len(set(templates))


def test_a_providers_own_words_are_no_saying() -> None:
    assert sayings.read("Недостаточно средств") is None
    assert sayings.read("no answer from Uzum") is None  # a part of one is not it


def test_a_lost_answer_is_said_with_its_failure() -> None:
    lost = unanswered(HttpExchange(None, None, failure=Failure.SERVER_ERROR), "Uzum")
    assert lost.message == "no answer from Uzum: server_error"
    assert sayings.read(lost.message) == (
        sayings.NO_ANSWER,
        {"provider": "Uzum", "failure": "server_error"},
    )
