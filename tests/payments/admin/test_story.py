"""A payment's page tells its story: changes, exchanges and operators' actions in one time
line, the service's own words in the operator's language, everyone else's as they were."""

import pytest
from django.urls import reverse
from django.utils import translation

from payments.admin.story import reason_text, story_of
from payments.models import OperatorAction, Payment
from tests.factories import operator
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("written", "english", "russian"),
    [
        ("sent", "sent to the provider", "отправлен провайдеру"),
        ("reconcile: failed", "reconcile: declined", "сверка: отказ"),
        ("by hand: seen there", "by hand: seen there", "вручную: seen there"),
        ("status poll 2", "status asked again (2)", "статус запрошен снова (2)"),
        (
            "reversed 150000 by 5f",
            "1\u00a0500.00 UZS given back by 5f",
            "1\u00a0500,00 сум возвращено операцией 5f",
        ),
        (
            "fiscal receipt not accepted: failed",
            "fiscal receipt not accepted: declined",
            "фискальный чек не принят: отказ",
        ),
        ("an operator's own words", "an operator's own words", "an operator's own words"),
    ],
)  # fmt: skip
def test_a_reason_reads_in_the_operators_language(written, english, russian) -> None:
    with translation.override("en"):
        assert reason_text(written) == english
    with translation.override("ru"):
        assert reason_text(written) == russian


def test_the_story_is_one_time_line(api, click) -> None:
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7712000001"})
    charged = Payment.objects.get(transaction_id=body["data"]["transaction_id"])
    OperatorAction.objects.create(
        user=operator(), action="check_status", payment=charged, reason="a call", outcome="ok"
    )
    story = story_of(charged)

    assert [moment.kind for moment in story] == ["change", "exchange", "change", "action"]
    assert [moment.at for moment in story] == sorted(moment.at for moment in story)
    exchange = story[1]
    assert "click_pass/payment" in exchange.what
    assert "[redacted]" in exchange.request  # secrets as journaled
    assert exchange.response.startswith("{")
    assert story[3].words == "a call — ok"


def test_the_page_shows_the_story(client, api, click) -> None:
    client.force_login(operator())
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7712000003"})
    charged = Payment.objects.get(transaction_id=body["data"]["transaction_id"])
    page = client.get(reverse("admin:payments_payment_change", args=[charged.pk])).content.decode()
    assert 'id="story"' in page
    assert page.count('class="moment ') == len(story_of(charged)) == 3
