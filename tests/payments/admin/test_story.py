"""A payment's page tells its story: changes, exchanges and operators' actions in one time
line, the service's own words in the operator's language, everyone else's as they were."""

import pytest
from django.urls import reverse
from django.utils import translation

from payments.admin.story import reason_text, story_of
from payments.models import OperatorAction, Payment
from payments.reasons import Code, because
from payments.store import change_payment
from tests.factories import make_payment, operator
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "data", "english", "russian"),
    [
        ("sent", {}, "sent to the provider", "отправлен провайдеру"),
        ("reconcile", {"outcome": "failed"}, "reconcile: declined", "сверка: отказ"),
        ("by_hand", {"words": "seen there"}, "by hand: seen there", "вручную: seen there"),
        (
            "status_poll",
            {"attempt": 2, "outcome": "pending"},
            "status asked again (2): pending",
            "статус запрошен снова (2): ожидание",
        ),
        (
            "reversed_part",
            {"amount": 150000, "by": "5f"},
            "1\u00a0500.00 UZS given back by 5f",
            "1\u00a0500,00 сум возвращено операцией 5f",
        ),
        (
            "fiscal_not_accepted",
            {"outcome": "failed"},
            "fiscal receipt not accepted: declined",
            "фискальный чек не принят: отказ",
        ),
        # A row stored before reasons were codes keeps its words.
        ("text", {"text": "own words"}, "own words", "own words"),
    ],
)  # fmt: skip
def test_a_reason_reads_in_the_operators_language(code, data, english, russian) -> None:
    with translation.override("en"):
        assert reason_text(code, data) == english
    with translation.override("ru"):
        assert reason_text(code, data) == russian


def test_every_code_the_service_stores_has_its_words() -> None:
    """A code added to payments/reasons.py without its words in the back office fails
    here, in English and in each of the operators' languages."""
    from payments.admin.outcomes import OUTCOMES, outcome_text
    from payments.admin.story import REASONS
    from payments.reasons import OUTCOMES as OUTCOME_CODES
    from payments.reasons import STEPS, Reason

    assert set(REASONS) == {str(code) for code in STEPS}
    spoken_in_code = {"status_now", "status_asked"}  # made of status labels
    assert set(OUTCOMES) | spoken_in_code == {str(code) for code in OUTCOME_CODES}
    for language in ("en", "ru", "uz"):
        with translation.override(language):
            for code in STEPS:
                assert reason_text(code, {}) != code, (language, code)
            for code in OUTCOME_CODES:
                assert outcome_text(Reason(code, {})) != code, (language, code)


def test_the_story_is_one_time_line(api, click) -> None:
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7712000001"})
    charged = Payment.objects.get(transaction_id=body["data"]["transaction_id"])
    OperatorAction.objects.create(
        user=operator(),
        action="check_status",
        payment=charged,
        reason="a call",
        outcome="status_asked",
        outcome_data={"before": "paid", "after": "paid", "said": "2"},
    )
    story = story_of(charged)

    assert [moment.kind for moment in story] == ["change", "exchange", "change", "action"]
    assert [moment.at for moment in story] == sorted(moment.at for moment in story)
    exchange = story[1]
    assert (exchange.what, exchange.operation) == ("CLICK", "click_pass/payment")
    assert "[redacted]" in exchange.request  # secrets as journaled
    assert exchange.response.startswith("{")
    assert story[3].words == "a call — still Paid (the provider said: 2)"


def test_the_page_shows_the_story(client, api, click) -> None:
    client.force_login(operator())
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7712000003"})
    charged = Payment.objects.get(transaction_id=body["data"]["transaction_id"])
    page = client.get(reverse("admin:payments_payment_change", args=[charged.pk])).content.decode()
    assert 'id="story"' in page
    assert page.count('class="moment ') == len(story_of(charged)) == 3


def test_a_flag_reads_as_a_step_with_its_reason() -> None:
    payment = make_payment(status="unknown")
    why = because(Code.FLAGGED, note="still unknown")
    change_payment(payment, reason=why, actor="reconcile", needs_attention=True)
    with translation.override("ru"):
        step = story_of(Payment.objects.get(pk=payment.pk))[-1]
    # A note a release before stored as a sentence reads in the operator's language too.
    assert (step.what, step.words) == (
        "требует внимания",
        "помечен: по-прежнему «исход неизвестен»",
    )
