"""Who is calling: a register, by its API key (`Authorization: Bearer <key>`) or, for
register software that cannot send a header, by the network it calls from.

A request with a key is judged by the key alone: an unknown or revoked one is refused even
from a bound network. A request without one is a register's only if its address lies in
the networks the register is bound to, and only if it does not come from a web browser (a
page on the shop's LAN must not be able to close the shift with an image tag). The address
is the connection's own unless the connection comes from a proxy the settings trust.
"""

import ipaddress
import logging
from typing import Any, NoReturn

from django.conf import settings
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from payments.middleware import note_register
from payments.models import Register, RegisterKey
from payments.selectors import active_key, register_by_address
from payments.services.reconnect import read_checking_connection
from payments.services.registers import key_used

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Headers every current browser sends and register software does not.
BROWSER_HEADERS = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE")


def client_address(meta: dict[str, Any]) -> Address | None:
    """The caller's address: the connection's, or, when that is a trusted proxy, the last
    address in X-Forwarded-For that is not one of the trusted proxies."""
    try:
        address = ipaddress.ip_address(meta.get("REMOTE_ADDR", ""))
    except ValueError:
        return None
    trusted = [ipaddress.ip_network(n, strict=False) for n in settings.TRUSTED_PROXIES]
    if not any(address in network for network in trusted if network.version == address.version):
        return address
    forwarded = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in forwarded if hop]):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return None  # a proxy we trust would not write this: believe nothing
        if not any(address in n for n in trusted if n.version == address.version):
            return address
    return address


def client_ip(request: HttpRequest) -> str | None:
    """`client_address` as text (django-axes counts the back office's failed logins by it)."""
    address = client_address(request.META)
    return None if address is None else str(address)


# Why a request was refused (code 111's `error.data.reason`): never which of "unknown" and
# "revoked" a key is.
NO_KEY = "no_key"
UNKNOWN_KEY = "unknown_or_revoked_key"
REGISTER_INACTIVE = "register_inactive"
NETWORK_NOT_ALLOWED = "network_not_allowed"
REASONS = (NO_KEY, UNKNOWN_KEY, REGISTER_INACTIVE, NETWORK_NOT_ALLOWED)


def refusal_reason(request: Request, exc: Exception) -> str:
    """The reason a request was refused: the authentication's own, or, where it let the
    request go on without a register (no key: an endpoint open to all may serve it), why
    no register was found."""
    if isinstance(exc, exceptions.AuthenticationFailed):
        reason = exc.get_codes()
        if isinstance(reason, str) and reason in REASONS:
            return reason
    return str(getattr(request._request, "register_refusal", NO_KEY))


class RegisterAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Register, RegisterKey | None] | None:
        meta = request.META
        address = client_address(meta)
        header = meta.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                self._refuse("an Authorization header that is not a Bearer key", address, NO_KEY)
            # The first statement of a register's request: it checks the connection too.
            row = read_checking_connection(lambda: active_key(key.strip()))
            if row is None:
                self._refuse("an unknown or revoked key", address, UNKNOWN_KEY)
            if not row.register.active:
                why = f"a key of the inactive register {row.register}"
                self._refuse(why, address, REGISTER_INACTIVE)
            key_used(row)
            note_register(row.register.name)
            return row.register, row
        if address is None:
            return None
        if any(meta.get(name) for name in BROWSER_HEADERS):
            self._refuse("a browser's request without a key", address, NO_KEY)
        register = register_by_address(address)
        if register is None:
            logger.warning("refused %s: no key, and no register is bound to it", address)
            request._request.register_refusal = NETWORK_NOT_ALLOWED  # type: ignore[attr-defined]
            return None
        note_register(register.name)
        return register, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="registers"'

    @staticmethod
    def _refuse(why: str, address: Address | None, reason: str) -> NoReturn:
        logger.warning("refused %s: %s", address, why)
        raise exceptions.AuthenticationFailed(why, code=reason)


class IsRegister(BasePermission):
    """Every register endpoint: the caller must be a register."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Register)


def calling_register(request: Request) -> Register:
    """The register a request of a register endpoint comes from (`IsRegister` let it in)."""
    register = request.user
    assert isinstance(register, Register)
    return register
