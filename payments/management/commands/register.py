"""Registers, their keys and their provider accounts, for automation (the admin does the
same by hand).

    manage.py register list
    manage.py register account click "CLICK shop 2" service_id=40777 merchant_user_id=67890 \\
        secret_key=PROVIDER_SECRET_CLICK_SHOP2
    manage.py register add "Till 2" --inn 301234567 --kkm-id KKM-2 \\
        --account "CLICK shop 2" --network 192.168.1.52/32
    manage.py register set "Till 2" --inactive
    manage.py register key issue "Till 2" --label "till software 3.1"
    manage.py register key revoke rk_AbCdEfG
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from payments.management.reporting import table
from payments.models import ProviderAccount, Register, RegisterKey, parse_networks
from payments.selectors import key_digest
from payments.services import accounts, registers
from providers import registry


class Command(BaseCommand):
    help = "List, add and change registers, issue and revoke their keys, and set up accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="registers, their accounts and keys")

        add = actions.add_parser("add", help="a new register")
        add.add_argument("name")
        add.add_argument("--inn", required=True)
        add.add_argument("--kkm-id", required=True)
        add.add_argument("--device-id", default="")
        add.add_argument("--cashbox-code", default="")
        _accounts_and_networks(add)

        change = actions.add_parser("set", help="change a register")
        change.add_argument("name")
        _accounts_and_networks(change)
        state = change.add_mutually_exclusive_group()
        state.add_argument("--active", dest="active", action="store_true", default=None)
        state.add_argument("--inactive", dest="active", action="store_false")

        account = actions.add_parser("account", help="add or change a provider account")
        account.add_argument("provider", choices=registry.names())
        account.add_argument("name")
        account.add_argument(
            "values", nargs="*", metavar="field=value", help="the account's settings"
        )

        key = actions.add_parser("key", help="issue or revoke an API key")
        key_actions = key.add_subparsers(dest="key_action", required=True)
        issue = key_actions.add_parser("issue", help="a new key, printed once")
        issue.add_argument("name", help="the register")
        issue.add_argument("--label", default="")
        revoke = key_actions.add_parser("revoke", help="refuse a key from now on")
        revoke.add_argument("prefix", help="the key, or its first characters as listed")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            action = options["action"]
            if action == "key":
                action = f"key_{options['key_action']}"
            getattr(self, f"_{action}")(options)
        except (ValidationError, ValueError, IntegrityError) as exc:
            raise CommandError(str(exc)) from exc

    def _list(self, options: dict[str, Any]) -> None:
        rows = []
        for register in Register.objects.prefetch_related("accounts", "keys"):
            keys = [
                f"{k.prefix}… {k.label or ''} used {k.last_used_at or 'never'}".strip()
                for k in register.keys.all()
                if k.is_active
            ]
            rows.append(
                (
                    register.name,
                    "active" if register.active else "inactive",
                    register.kkm_id,
                    " ".join(register.networks.split()) or "-",
                    ", ".join(a.name for a in register.accounts.all()) or "-",
                    "; ".join(keys) or "-",
                )
            )
        headers = ("register", "state", "KKM id", "networks", "accounts", "active keys")
        self.stdout.write(table(headers, rows or [("-",) * 6]))

    def _add(self, options: dict[str, Any]) -> None:
        register = registers.add_register(
            name=options["name"],
            inn=options["inn"],
            kkm_id=options["kkm_id"],
            device_id=options["device_id"],
            cashbox_code=options["cashbox_code"],
            networks="\n".join(options["network"] or []),
            accounts=_accounts_named(options["account"] or []),
        )
        self.stdout.write(f"added {register}")

    def _set(self, options: dict[str, Any]) -> None:
        register = _register(options["name"])
        if options["network"] is not None:
            networks = "\n".join(options["network"])
            parse_networks(networks)
            register.networks = networks
        if options["active"] is not None:
            register.active = options["active"]
        register.save()
        if options["account"] is not None:
            registers.set_accounts(register, _accounts_named(options["account"]))
        self.stdout.write(f"changed {register}")

    def _account(self, options: dict[str, Any]) -> None:
        values = dict(item.partition("=")[::2] for item in options["values"])
        problem = accounts.values_problem(options["provider"], values)
        if problem:
            raise CommandError(problem)
        row = registers.put_account(options["provider"], options["name"], values)
        self.stdout.write(f"saved {row}")
        problem = accounts.account_problem(row)
        if problem is not None:  # saved all the same: the secret may come next
            self.stderr.write(
                f"warning: {problem}; until the service's environment has it, the registers "
                "charging through this account are refused there (108 misconfigured)"
            )

    def _key_issue(self, options: dict[str, Any]) -> None:
        row, key = registers.issue_key(_register(options["name"]), label=options["label"])
        self.stdout.write(f"key for {row.register} (shown this once): {key}")

    def _key_revoke(self, options: dict[str, Any]) -> None:
        given = options["prefix"]
        if len(given) > RegisterKey.PREFIX_LENGTH:
            # Longer than any listed prefix: the whole key, as the register has it.
            found = list(RegisterKey.objects.filter(digest=key_digest(given)))
            if not found:
                raise CommandError(f"no key is {given[:10]}…: give the key or its prefix")
        else:
            found = list(RegisterKey.objects.filter(prefix__startswith=given))
        if len(found) != 1:
            raise CommandError(f"{len(found)} keys start with {given!r}: give more")
        registers.revoke_key(found[0])
        self.stdout.write(f"revoked {found[0]}")


def _accounts_and_networks(parser: CommandParser) -> None:
    parser.add_argument("--account", action="append", help="an account's name (once per provider)")
    parser.add_argument(
        "--network", action="append", help="a source network (CIDR) that needs no key"
    )


def _register(name: str) -> Register:
    try:
        return Register.objects.get(name=name)
    except Register.DoesNotExist as exc:
        raise CommandError(f"no register {name!r}") from exc


def _accounts_named(names: list[str]) -> list[ProviderAccount]:
    found = {a.name: a for a in ProviderAccount.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise CommandError(f"no account {', '.join(missing)}")
    return [found[n] for n in names]
