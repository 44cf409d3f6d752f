"""/health/live and /health/ready, in the envelope. No key: a load balancer asks them, and
they say nothing about anyone's payments."""

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.api.envelope import failure, success
from payments.api.metrics import admitted
from payments.errors import ErrorCode
from payments.services.health import readiness


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    schema = None


class LiveView(HealthView):
    """The process answers."""

    def get(self, request: Request) -> Response:
        return success({"status": "live"})


class ReadyView(HealthView):
    """The process can serve: HTTP 503 (so a load balancer takes it out) when not. What each
    check found only for the callers /metrics admits; anyone else learns ready or not."""

    def get(self, request: Request) -> Response:
        ready, checks = readiness()
        shown = checks if admitted(request) else {}
        if ready:
            return success({"status": "ready", **shown})
        return failure(
            ErrorCode.INTERNAL, "NOT_READY", shown or None, status.HTTP_503_SERVICE_UNAVAILABLE
        )
