"""The gateways' own sentences in the operator's language, yesterday's rows included."""

import pytest
from django.utils import translation

from payments.admin.sayings import said
from providers import sayings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("stored", "english", "russian"),
    [
        (
            "no answer from Uzum: server_error",
            "no answer from Uzum: a server error",  # a failure's code in words
            "нет ответа от Uzum: ошибка сервера",
        ),
        (
            "Payme paused the receipt for manual review (state 20)",
            "Payme paused the receipt for manual review (state 20)",
            "Payme приостановил чек для ручной проверки (состояние 20)",
        ),
        (
            "the receipt is cancelled (state 50)",
            "the receipt is cancelled (state 50)",
            "чек отменён (состояние 50)",
        ),
        ("still unknown", "still outcome unknown", "по-прежнему «исход неизвестен»"),
        (  # a saying inside a saying
            "the terminal did not say: no answer from HUMO: timeout",
            "the terminal did not say: no answer from HUMO: no answer in time",
            "терминал не ответил: нет ответа от HUMO: ответа не было вовремя",
        ),
        # The provider's own words, as they came.
        ("Недостаточно средств", "Недостаточно средств", "Недостаточно средств"),
    ],
)
def test_a_stored_sentence_reads_in_the_operators_language(stored, english, russian) -> None:
    with translation.override("ru"):
        assert said(stored) == russian
    with translation.override("en"):
        assert said(stored) == english


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_every_saying_has_its_words(language) -> None:
    with translation.override(language):
        for saying in sayings.ALL:
            values = dict.fromkeys(saying.parameters, "7")
            assert said(saying(**values)) != saying(**values), saying.template


def test_the_terminals_own_sentences_read_in_the_operators_language_too() -> None:
    with translation.override("ru"):
        assert said("the terminal did not say: the PIN pad is busy") == (
            "терминал не ответил: ПИН-пад занят"
        )
        assert said("cannot open /dev/ttyUSB0: [Errno 2] No such file or directory") == (
            "не удаётся открыть /dev/ttyUSB0: [Errno 2] No such file or directory"
        )
