"""Small things many tests share."""

import socket

from rest_framework.test import APIClient

SEED_URL = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2421&c=20230104121801&s=514343190161"
OTHER_URL = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2904&c=20230222120100&s=113075569254"


def post_json(api: APIClient, path: str, body: dict) -> dict:
    """POST a JSON body; the answer must be HTTP 200 (every outcome a register acts on)."""
    response = api.post(path, body, format="json")
    assert response.status_code == 200
    return response.json()


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
