"""/metrics for Prometheus: not public. The scraper is let in by its network
(METRICS_NETWORKS) or by `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 111,
HTTP 401, in the envelope."""

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from payments import metrics
from payments.api.authentication import client_address
from payments.services import accounts

logger = logging.getLogger(__name__)


class Scraper:
    """Who reads the metrics: no one's payments, only the service's figures."""

    is_authenticated = True


class ScraperAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Scraper, None] | None:
        address = client_address(request.META)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, token = header.partition(" ")
            expected = settings.METRICS_TOKEN
            if not (
                scheme.lower() == "bearer"
                and expected
                and hmac.compare_digest(token.strip().encode(), expected.encode())
            ):
                logger.warning("refused %s: a wrong metrics token", address)
                raise exceptions.AuthenticationFailed("a wrong metrics token")
            return Scraper(), None
        networks = [ipaddress.ip_network(n, strict=False) for n in settings.METRICS_NETWORKS]
        if address is not None and any(
            address in network for network in networks if network.version == address.version
        ):
            return Scraper(), None
        logger.warning("refused %s: metrics outside METRICS_NETWORKS and without a token", address)
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="metrics"'


def admitted(request: Request) -> bool:
    """Whether the caller may read what /metrics shows (a wrong token is not admitted)."""
    try:
        return ScraperAuthentication().authenticate(request) is not None
    except exceptions.AuthenticationFailed:
        return False


class IsScraper(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Scraper)


class AccountsCollector(Collector):
    """The registers' accounts that cannot serve, as they stand at the scrape."""

    def collect(self) -> Iterator[Metric]:
        unusable = GaugeMetricFamily(
            "payments_accounts_unusable",
            "Accounts of active registers that cannot serve as they stand (1 each): "
            "misconfigured (a secret not set), shared (a PIN pad several registers have) or "
            "equipment (a PIN pad's line not there). Their registers' requests at that "
            "provider are refused; every other register is served.",
            labels=["provider", "account", "kind"],
        )
        for problem in accounts.problems():
            unusable.add_metric([problem.provider, problem.account, problem.kind], 1)
        yield unusable


class MetricsView(APIView):
    authentication_classes = [ScraperAuthentication]
    permission_classes = [IsScraper]
    schema = None

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(
            metrics.exposition(AccountsCollector()), content_type=CONTENT_TYPE_LATEST
        )
