import pytest

from tests.factories import operator


@pytest.fixture
def staff(client):
    """The admin's client, logged in as an operator who may run every payment action."""
    client.force_login(
        operator("check_status", "retry_fiscal", "reverse_payment", "settle_payment")
    )
    return client
