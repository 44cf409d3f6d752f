"""The back office's login: repeated wrong passwords lock the user name out from that
address for a while, and an operator's session lasts a shift."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, password: str):
    return client.post(LOGIN, {"username": "op", "password": password, "next": "/admin/"})


def test_repeated_wrong_passwords_lock_the_login_out() -> None:
    User.objects.create_user("op", password="the-right-one", is_staff=True)
    client = Client(REMOTE_ADDR="198.51.100.4")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "wrong").status_code == 200  # the form again, with its error
    assert attempt(client, "wrong").status_code == 429  # the limit: locked out
    locked = attempt(client, "the-right-one")
    assert locked.status_code == 429  # even the right password, while locked out
    assert "_auth_user_id" not in client.session
    # Another address is not locked out for this user name.
    elsewhere = Client(REMOTE_ADDR="198.51.100.5")
    assert attempt(elsewhere, "the-right-one").status_code == 302


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count() -> None:
    User.objects.create_user("op", password="the-right-one", is_staff=True)
    client = Client(REMOTE_ADDR="198.51.100.6")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "wrong")
    assert attempt(client, "the-right-one").status_code == 302
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 8 * 3600


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_locked_out(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.5/32"]
    User.objects.create_user("op", password="the-right-one", is_staff=True)
    through_proxy = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(through_proxy, "wrong")
    assert attempt(through_proxy, "the-right-one").status_code == 429
    # Another client behind the same proxy is another address.
    other = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert attempt(other, "the-right-one").status_code == 302
