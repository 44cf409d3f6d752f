"""Lookups spread over processes come back, every one, to the process that writes."""

import os
import socket
import threading

from django.utils import timezone

from payments.services.asking import Askers
from providers import http
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
    """The answer says which process asked, and about what."""
    return GatewayResult(Outcome.SUCCESS, message=f"{os.getpid()} {data.transaction_id}")


def ask_all(ask, count: int, **spread) -> dict[int, object]:
    with Askers(ask, **spread) as askers:
        for number in range(count):
            askers.submit(number, data(number), "click")
        return dict(askers.answers())


def test_lookups_spread_over_processes_each_come_back_once_to_their_payment() -> None:
    answers = ask_all(where_asked, 200, workers=8, processes=2)
    assert sorted(answers) == list(range(200))
    askers = set()
    for number, answer in answers.items():
        pid, asked_about = answer.message.split()
        assert asked_about == f"payment-{number}"
        askers.add(int(pid))
    assert os.getpid() not in askers  # this process only writes
    assert len(askers) == 2


def test_with_one_process_the_lookups_run_in_its_threads() -> None:
    answers = ask_all(where_asked, 20, workers=4, processes=1)
    assert {answer.message.split()[0] for answer in answers.values()} == {str(os.getpid())}


class HoldsASocket(Exception):
    def __init__(self) -> None:
        super().__init__("with a socket")
        self.socket = socket.socket()
        self.lock = threading.Lock()  # nothing of this can be pickled


def raising(data: PaymentData, provider: str) -> GatewayResult:
    number = int(data.transaction_id.split("-")[1])
    if number == 1:
        raise ValueError("the answer broke the parser")
    if number == 2:
        raise HoldsASocket
    return where_asked(data, provider)


def test_what_a_lookup_raises_comes_back_as_that_payments_error() -> None:
    answers = ask_all(raising, 4, workers=2, processes=2)
    assert isinstance(answers[1], ValueError)
    assert str(answers[1]) == "the answer broke the parser"
    assert isinstance(answers[2], RuntimeError)
    assert str(answers[2]) == "HoldsASocket: with a socket"
    assert isinstance(answers[0], GatewayResult)


def dying(data: PaymentData, provider: str) -> GatewayResult:
    os._exit(1)  # the asking process ends in the middle of a lookup


def test_lookups_of_a_process_that_ended_are_errors_not_a_wait_forever() -> None:
    answers = ask_all(dying, 5, workers=2, processes=2)
    assert sorted(answers) == list(range(5))
    assert all(isinstance(answer, RuntimeError) for answer in answers.values())
    assert {str(answer) for answer in answers.values()} == {"the lookup's process ended"}


def session_seen(data: PaymentData, provider: str) -> GatewayResult:
    return GatewayResult(Outcome.SUCCESS, message=str(getattr(http.session(), "parents", False)))


def test_an_asking_process_sends_through_connections_of_its_own(monkeypatch) -> None:
    monkeypatch.setattr(http, "_session", None)
    http.session().parents = True  # this process's pooled connections, maybe open now
    answers = ask_all(session_seen, 4, workers=2, processes=2)
    # Shared, two processes would write into one socket and read each other's answers.
    assert {answer.message for answer in answers.values()} == {"False"}
