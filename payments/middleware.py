"""A request id on every request, in the logs and in the `X-Request-ID` answer header; the
request's connection noted for `payments.peer`.

An operator who gets code 103 with a request id from a cashier finds the traceback by it.
Each log line also says which register called and which payment it was about, once known.
"""

import logging
import threading
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from payments import peer

_current = threading.local()


def current_request_id() -> str:
    return getattr(_current, "request_id", "-")


def note_register(name: str) -> None:
    """The request is this register's (payments.api.authentication knows)."""
    _current.register = name


def note_transaction(transaction_id: object) -> None:
    """The request is about this payment."""
    _current.transaction_id = str(transaction_id)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        _current.request_id = request_id
        peer.serving(request.META.get("gunicorn.socket"))
        try:
            response = self.get_response(request)
        finally:
            _current.request_id, _current.register, _current.transaction_id = "-", "-", "-"
            peer.serving(None)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.register = getattr(_current, "register", "-")
        record.transaction_id = getattr(_current, "transaction_id", "-")
        return True
