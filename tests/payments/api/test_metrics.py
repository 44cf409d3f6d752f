"""/metrics is not public: the scraper's network or its token, nobody else."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.50"


def test_the_scrapers_network_reads_the_metrics(settings) -> None:
    settings.METRICS_NETWORKS = ["10.1.2.0/24"]
    response = APIClient(REMOTE_ADDR="10.1.2.3").get("/metrics")
    assert response.status_code == 200
    assert b"payments_open" in response.content


def test_anyone_else_is_refused_in_the_envelope(settings) -> None:
    settings.METRICS_NETWORKS = ["10.1.2.0/24"]
    response = APIClient(REMOTE_ADDR=OUTSIDE).get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    body = response.json()
    assert (body["is_success"], body["error"]["code"]) == (False, 111)
    assert b"payments_" not in response.content


def test_a_proxy_we_do_not_trust_cannot_claim_the_scrapers_address(settings) -> None:
    settings.TRUSTED_PROXIES = []
    client = APIClient(REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert client.get("/metrics").status_code == 401


def test_the_token_lets_the_scraper_in_from_anywhere(settings) -> None:
    settings.METRICS_TOKEN = "scrape-7c1d9e"
    client = APIClient(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer scrape-7c1d9e")
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer ", "Basic c2NyYXBlOng="])
def test_a_wrong_token_is_refused_even_from_the_scrapers_network(settings, header) -> None:
    settings.METRICS_TOKEN = "scrape-7c1d9e"
    client = APIClient(REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION=header)
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 111


def test_no_token_configured_means_no_token_is_right(settings) -> None:
    settings.METRICS_TOKEN = ""
    client = APIClient(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")
    assert client.get("/metrics").status_code == 401


def test_a_registers_key_is_not_a_metrics_token(api) -> None:
    api.defaults["REMOTE_ADDR"] = OUTSIDE
    assert api.get("/metrics").status_code == 401
