"""The response envelope `{data, error, is_success}` and everything that guarantees it.

One renderer (UTF-8 JSON, Cyrillic unescaped), one parser (size limit, named JSON errors),
one DRF exception handler, and plain Django handlers for what never reaches DRF (HTTP 400
and 500 outside a view). Unknown paths are routed to a catch-all DRF view (payments.api.views), so
they pass the same exception handler.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from payments.api.authentication import NO_KEY, refusal_reason
from payments.errors import ApplicationError, ErrorCode
from payments.middleware import current_request_id

logger = logging.getLogger(__name__)


class EnvelopeJSONRenderer(JSONRenderer):
    charset = "utf-8"
    ensure_ascii = False


class LimitedJSONParser(JSONParser):
    """JSON only, at most MAX_REQUEST_BODY_BYTES, with the parse error named in the answer."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.MAX_REQUEST_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise exceptions.ParseError(too_large_message())
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"Invalid JSON: {exc}") from exc
        if json_depth(text) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise exceptions.ParseError(f"Invalid JSON: {exc}") from exc


# No register request nests more than a few levels; the parser itself would recurse until
# it hits Python's limit and fail with a 500.
MAX_JSON_DEPTH = 32


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (strings read past, not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def too_large_message() -> str:
    return f"Request body too large: the limit is {settings.MAX_REQUEST_BODY_BYTES} bytes."


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def success(data: Any) -> Response:
    return Response({"data": data, "error": None, "is_success": True})


def failure_body(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {
        "data": None,
        "error": {"code": int(code), "message": message, "data": data},
        "is_success": False,
    }


def failure(
    code: int, message: str, data: Any = None, http_status: int = status.HTTP_200_OK
) -> Response:
    return Response(failure_body(code, message, data), status=http_status)


def invalid_body(detail: Any) -> dict[str, Any]:
    """Code 7: the field errors as the seed's compact JSON text in `message`, and the same
    errors as an object in `data.fields` (a client need not parse twice). A serializer's
    errors arrive as a dict; anything else (a list, a string) is not tied to a field and
    goes under non_field_errors, as DRF itself names such errors."""
    if not isinstance(detail, dict):
        detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
    fields = json.loads(compact_json(detail))  # DRF's ErrorDetail strings as plain ones
    return failure_body(ErrorCode.VALIDATION, compact_json(detail), {"fields": fields})


def invalid(detail: Any) -> Response:
    return Response(invalid_body(detail))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Turn every exception raised in a DRF view into the envelope."""
    if isinstance(exc, ApplicationError):
        return failure(exc.code, exc.message, exc.data, exc.http_status)
    if isinstance(exc, Http404 | exceptions.NotFound):
        request = context.get("request")
        path = request.path if request is not None else ""
        return failure(ErrorCode.NOT_FOUND, "NOT_FOUND", {"path": path}, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return failure(
            ErrorCode.METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            {"detail": str(exc.detail)},
            status.HTTP_405_METHOD_NOT_ALLOWED,
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # The reason's name only; the details are in the log, not told to a stranger.
        request = context.get("request")
        reason = refusal_reason(request, exc) if request is not None else NO_KEY
        response = failure(
            ErrorCode.UNAUTHORIZED, "UNAUTHORIZED", {"reason": reason}, status.HTTP_401_UNAUTHORIZED
        )
        response["WWW-Authenticate"] = getattr(exc, "auth_header", 'Bearer realm="registers"')
        return response
    if isinstance(exc, exceptions.ValidationError):
        return invalid(exc.detail)
    if isinstance(exc, RequestDataTooBig):
        return invalid(too_large_message())
    if isinstance(exc, exceptions.APIException):
        # Parse errors, unsupported media types: the register sent something we cannot read.
        return invalid(str(exc.detail))
    return internal_error_response(exc)


def internal_error_response(exc: BaseException | None) -> Response:
    request_id = current_request_id()
    logger.error("unexpected error, request %s", request_id, exc_info=exc)
    return failure(
        ErrorCode.INTERNAL,
        "INTERNAL_ERROR",
        {"request_id": request_id},
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _plain_response(body: dict[str, Any], http_status: int) -> HttpResponse:
    return HttpResponse(
        compact_json(body).encode(),
        status=http_status,
        content_type="application/json; charset=utf-8",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an exception outside any DRF view still answers in the envelope."""
    request_id = getattr(request, "request_id", current_request_id())
    body = failure_body(ErrorCode.INTERNAL, "INTERNAL_ERROR", {"request_id": request_id})
    return _plain_response(body, 500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: what Django refuses before any view (a Host not in ALLOWED_HOSTS)."""
    body = invalid_body("Bad request: the request was refused before any view.")
    return _plain_response(body, 400)


def refused_before_django(status: int, reason: str, detail: str) -> bytes:
    """A whole HTTP response for what the WSGI server refuses before Django sees it (a
    request line or a header too large): the envelope too, so a register can read it."""
    if status < 500:
        body = invalid_body(f"Bad request: {reason}: {detail}")
    else:
        body = failure_body(ErrorCode.INTERNAL, "INTERNAL_ERROR", {"request_id": None})
    payload = compact_json(body).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode("latin1") + payload
