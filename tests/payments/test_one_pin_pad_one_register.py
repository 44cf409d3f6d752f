"""One PIN pad, one register: a second register is refused a PIN-pad account another has
(by `register` and the back office); a share made before the rule (migration 0020) is
flagged, and its end of day refused: it would close and print every sharing register's
shift."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from payments.models import ProviderAccount, Register
from payments.services import accounts
from payments.services.registers import add_register, put_account

pytestmark = pytest.mark.django_db


def test_register_refuses_a_second_register_the_pin_pad_of_the_first(shop) -> None:
    with pytest.raises(CommandError, match="one PIN pad serves one register"):
        call_command(
            "register", "add", "Till 2", "--inn", "1", "--kkm-id", "K2",
            "--account", "test PIN pad", stdout=StringIO(),
        )  # fmt: skip
    assert not Register.objects.filter(name="Till 2").exists()
    call_command("register", "add", "Till 2", "--inn", "1", "--kkm-id", "K2", stdout=StringIO())
    with pytest.raises(CommandError, match="is a device of Register 1"):
        call_command("register", "set", "Till 2", "--account", "test PIN pad", stdout=StringIO())
    assert not Register.objects.get(name="Till 2").accounts.exists()


def test_a_register_keeps_its_own_pin_pad_when_it_is_set_again(shop) -> None:
    call_command("register", "set", shop.name, "--account", "test PIN pad", stdout=StringIO())
    assert shop.accounts.filter(name="test PIN pad").exists()


def test_the_back_office_refuses_it_too(shop, client) -> None:
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    pin_pad = ProviderAccount.objects.get(name="test PIN pad")
    page = client.post(
        "/admin/payments/register/add/",
        {"name": "Till 2", "inn": "1", "kkm_id": "K2", "active": "on", "accounts": [pin_pad.pk]},
    )
    assert page.status_code == 200  # the form again, with the error
    assert "is the PIN pad of Register 1" in page.content.decode()
    assert not Register.objects.filter(name="Till 2").exists()


def shared_before_the_rule(shop) -> Register:
    till = add_register(name="Till 2", inn="1", kkm_id="K2")
    till.accounts.add(ProviderAccount.objects.get(name="test PIN pad"))  # as the old code let
    accounts.forget()
    return till


def test_a_share_made_before_the_rule_is_flagged_and_its_end_of_day_refused(
    shop, pinpad, settings
) -> None:
    settings.ALLOW_TEST_DEPLOYMENT = True  # the tests' emulators and keys
    till = shared_before_the_rule(shop)
    warned = StringIO()
    call_command("check", databases=["default"], stdout=warned, stderr=warned)
    assert "payments.W008" in warned.getvalue()
    assert "Register 1, Till 2" in warned.getvalue()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("close_day", "--register", till.name, stdout=out, stderr=StringIO())
    assert "'reason': 'shared'" in out.getvalue()
    assert pinpad.requests == []  # nothing reached the terminal


@pytest.mark.django_db(transaction=True)
def test_the_migration_that_brings_the_rule_names_each_share(shop, capsys) -> None:
    shared_before_the_rule(shop)
    put_account("humo", "PIN pad of nobody else", {"url": "/dev/null"})
    executor = MigrationExecutor(connection)
    executor.migrate([("payments", "0019_overdue_receipts_index")])
    try:
        MigrationExecutor(connection).migrate([("payments", "0020_one_pin_pad_one_register")])
    finally:
        # The migrations after 0020 come back too: the tests after this one need them.
        latest = MigrationExecutor(connection)
        latest.migrate(latest.loader.graph.leaf_nodes())
    printed = capsys.readouterr().out
    assert "'test PIN pad' is shared by Register 1, Till 2" in printed
    assert "nobody else" not in printed
