"""Lookups asked in threads come back, every one, to the thread that writes."""

import threading

from django.utils import timezone

from payments.services.asking import Askers
from providers.base import GatewayResult, Outcome, PaymentData, RegisterInfo


def data(number: int) -> PaymentData:
    return PaymentData(
        transaction_id=f"payment-{number}",
        amount=500,
        created_at=timezone.now(),
        account=None,
        register=RegisterInfo(inn="", kkm_id="", device_id="", cashbox_code=""),
    )


def where_asked(data: PaymentData, provider: str) -> GatewayResult:
    """The answer says which thread asked, and about what."""
    return GatewayResult(Outcome.SUCCESS, message=f"{threading.get_ident()} {data.transaction_id}")


def ask_all(ask, count: int, workers: int) -> dict[int, object]:
    with Askers(ask, workers=workers) as askers:
        for number in range(count):
            askers.submit(number, data(number), "click")
        return dict(askers.answers())


def test_every_lookup_comes_back_once_to_its_payment_from_the_asking_threads() -> None:
    answers = ask_all(where_asked, 200, workers=8)
    assert sorted(answers) == list(range(200))
    askers = set()
    for number, answer in answers.items():
        thread, asked_about = answer.message.split()
        assert asked_about == f"payment-{number}"
        askers.add(int(thread))
    assert threading.get_ident() not in askers  # this thread only writes
    assert 1 < len(askers) <= 8


def raising(data: PaymentData, provider: str) -> GatewayResult:
    if data.transaction_id == "payment-1":
        raise ValueError("the answer broke the parser")
    return where_asked(data, provider)


def test_what_a_lookup_raises_comes_back_as_that_payments_error() -> None:
    answers = ask_all(raising, 4, workers=2)
    assert isinstance(answers[1], ValueError)
    assert str(answers[1]) == "the answer broke the parser"
    assert all(isinstance(answers[n], GatewayResult) for n in (0, 2, 3))
