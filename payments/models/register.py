"""The cash registers the service serves, the keys they call with, and the provider
accounts they charge through."""

import ipaddress

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from payments.models.payment import provider_choices


class ProviderAccount(models.Model):
    """An account at a provider: a CLICK service, a Payme cashbox, a PIN pad. Its settings
    are the gateway's `account_fields`; a secret field holds the name of a secret kept in
    the deployment's environment (docs/configuration.md), never the secret."""

    provider = models.CharField(_("provider"), max_length=16, choices=provider_choices)
    name = models.CharField(_("name"), max_length=100, unique=True)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("provider account")
        verbose_name_plural = _("provider accounts")
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """CIDR networks, one per line or separated by commas or spaces."""
    found = []
    for item in text.replace(",", " ").split():
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValidationError(f"{item!r} is not a network: {exc}") from exc
    return found


class Register(models.Model):
    """A cash register that calls the service: who it is to the tax office and to the
    providers, how it proves it (keys, or the networks it calls from), and the accounts it
    charges through (one per provider)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    inn = models.CharField(_("INN"), max_length=14)
    kkm_id = models.CharField(_("KKM id"), max_length=64)
    device_id = models.CharField(_("device id"), max_length=64)
    cashbox_code = models.CharField(_("cashbox code"), max_length=64)
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("An inactive register is refused, whatever it calls with."),
    )
    networks = models.TextField(
        _("networks"),
        blank=True,
        default="",
        help_text=_(
            "Source networks (CIDR, one per line) from which a request without a key is this "
            "register's: for register software that cannot send a header. Keep them narrow."
        ),
    )
    accounts = models.ManyToManyField(
        ProviderAccount, blank=True, related_name="registers", verbose_name=_("accounts")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("register")
        verbose_name_plural = _("registers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        parse_networks(self.networks)

    @property
    def network_list(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return parse_networks(self.networks)

    # DRF takes the authenticated caller as `request.user`: a register is one.
    is_authenticated = True


class RegisterKey(models.Model):
    """An API key of a register. Only its SHA-256 is kept: the key is shown once, when it
    is issued. Several may be active at once (rotation); a revoked key is refused at once."""

    register = models.ForeignKey(
        Register, on_delete=models.CASCADE, related_name="keys", verbose_name=_("register")
    )
    PREFIX_LENGTH = 16  # the longest listed prefix: a longer text is a whole key
    prefix = models.CharField(
        _("prefix"), max_length=PREFIX_LENGTH, help_text=_("The key's first characters.")
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("register key")
        verbose_name_plural = _("register keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.register})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
