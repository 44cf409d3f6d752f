"""Registers, their keys and the provider accounts they charge through.

A key is issued from its register's page and shown once, on the page that issues it; only
its SHA-256 is kept. Keys are revoked from the key list (an action). Provider accounts
name their secrets (environment variables), and the list says whether each is set.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from payments.admin.base import (
    BackOfficeAdmin,
    ReadOnlyInline,
    data,
    flag,
    flag_column,
    moment,
)
from payments.models import ProviderAccount, Register, RegisterKey, parse_networks
from payments.services import accounts, registers
from providers import registry


class RegisterForm(forms.ModelForm):
    class Meta:
        model = Register
        fields = [
            "name",
            "inn",
            "kkm_id",
            "device_id",
            "cashbox_code",
            "active",
            "networks",
            "accounts",
        ]
        widgets = {"networks": forms.Textarea(attrs={"rows": 3, "cols": 40})}

    def clean_networks(self) -> str:
        text = self.cleaned_data["networks"]
        return "\n".join(str(network) for network in parse_networks(text))

    def clean_accounts(self) -> Any:
        chosen = self.cleaned_data["accounts"]
        twice = registers.providers_twice(chosen)
        if twice:
            raise ValidationError(
                _("One account per provider: %(twice)s chosen twice.") % {"twice": ", ".join(twice)}
            )
        taken = registers.device_taken(self.instance if self.instance.pk else None, chosen)
        if taken is not None:
            raise ValidationError(
                _("%(account)s is the PIN pad of %(owners)s: one PIN pad serves one register.")
                % {"account": taken[0].name, "owners": ", ".join(taken[1])}
            )
        return chosen


class KeyInline(ReadOnlyInline):
    model = RegisterKey
    fields = readonly_fields = ("key", "label", "created_at", "last_used_at", "revoked_at")
    verbose_name_plural = _("API keys (issue one with the button above; revoke from the key list)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("prefix"))
    def key(self, key: RegisterKey) -> str:
        return data(key.prefix)


@admin.register(Register)
class RegisterAdmin(BackOfficeAdmin):
    form = RegisterForm
    list_display = [
        "name",
        "deactivated",
        "last_call",
        "inn",
        "kkm_id",
        "bound_to",
        "charges_through",
        "keys",
    ]
    list_filter = ["active"]
    search_fields = ["name", "kkm_id", "inn"]
    filter_horizontal = ["accounts"]
    inlines = [KeyInline]
    actions = ["deactivate"]
    change_form_template = "admin/payments/register/change_form.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("accounts", "keys")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "accounts" and field is not None:
            # Ours instead of Django's "Hold down Control, or Command on a Mac": the two
            # lists beside each other are picked from with a click.
            field.help_text = _(
                "The provider accounts this register charges through: one of each provider at most."
            )
        return field

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a register with payments is deactivated, never deleted

    @admin.display(description=flag_column(_("deactivated")), ordering="active", empty_value="")
    def deactivated(self, register: Register) -> str:
        return flag(not register.active, gettext("deactivated: its calls are refused"))

    @admin.display(description=_("last call with a key"))
    def last_call(self, register: Register) -> str:
        used = [key.last_used_at for key in register.keys.all() if key.last_used_at]
        return moment(max(used)) if used else "—"

    @admin.display(description=_("networks without a key"))
    def bound_to(self, register: Register) -> str:
        return ", ".join(register.networks.split()) or "-"

    @admin.display(description=_("accounts"))
    def charges_through(self, register: Register) -> str:
        # One a line: a register has one a provider, and the names are the shop's own.
        names = [(account.name,) for account in register.accounts.all()]
        return format_html_join(mark_safe("<br>"), "{}", names) or "-"

    @admin.display(description=_("active keys"))
    def keys(self, register: Register) -> int:
        return sum(1 for key in register.keys.all() if key.is_active)

    @admin.action(description=_("Deactivate the selected registers"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: Any) -> None:
        for register in queryset:
            register.active = False
            register.save(update_fields=["active", "updated_at"])
        self.message_user(
            request, _("%(count)d register(s) deactivated.") % {"count": queryset.count()}
        )

    def get_urls(self) -> list:
        issue = self.admin_site.admin_view(self.issue_key_view)
        own = [path("<int:pk>/issue-key/", issue, name="payments_register_issue_key")]
        return own + super().get_urls()

    def issue_key_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        register = get_object_or_404(Register, pk=pk)
        if not self.has_change_permission(request, register):
            raise PermissionDenied
        back = reverse("admin:payments_register_change", args=[pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        row, key = registers.issue_key(register, label=request.POST.get("label", "")[:100])
        context = {
            **self.admin_site.each_context(request),
            "title": _("A new key for %(register)s") % {"register": register},
            "opts": self.model._meta,
            "register": register,
            "row": row,
            "key": key,
            "back": back,
        }
        # Shown on this page only: never stored, never in a message that could be logged.
        response = TemplateResponse(request, "admin/payments/register/key_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(RegisterKey)
class RegisterKeyAdmin(BackOfficeAdmin):
    list_display = ["key", "register", "label", "created", "last_used", "revoked"]
    list_display_links = ["key"]
    list_filter = ["register", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "label"]
    actions = ["revoke"]
    fields = readonly_fields = (
        "register",
        "prefix",
        "label",
        "created_at",
        "last_used_at",
        "revoked_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued from the register's page, where the key is shown once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("prefix"), ordering="prefix")
    def key(self, key: RegisterKey) -> str:
        return data(key.prefix)

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, key: RegisterKey) -> str:
        return moment(key.created_at)

    @admin.display(description=_("last used at"), ordering="last_used_at")
    def last_used(self, key: RegisterKey) -> str:
        return moment(key.last_used_at)

    @admin.display(description=_("revoked at"), ordering="revoked_at", empty_value="")
    def revoked(self, key: RegisterKey) -> str:
        return "" if key.is_active else moment(key.revoked_at)

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for key in queryset:
            registers.revoke_key(key)
        self.message_user(
            request, _("%(count)d key(s) revoked.") % {"count": queryset.count()}, messages.SUCCESS
        )


class ProviderAccountForm(forms.ModelForm):
    class Meta:
        model = ProviderAccount
        fields = ["provider", "name", "settings"]
        help_texts = {
            "settings": _(
                "The account's fields as JSON. A secret field holds the name of an environment "
                "variable PROVIDER_SECRET_<NAME>, never the secret."
            )
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider, values = cleaned.get("provider"), cleaned.get("settings")
        if provider and isinstance(values, dict):
            problem = accounts.values_problem(provider, values)
            if problem:
                raise ValidationError({"settings": problem})
        return cleaned


@admin.register(ProviderAccount)
class ProviderAccountAdmin(BackOfficeAdmin):
    form = ProviderAccountForm
    list_display = ["name", "provider", "account_settings", "secrets", "used_by", "serves"]
    list_filter = ["provider"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("registers")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("settings"))
    def account_settings(self, account: ProviderAccount) -> str:
        gateway = registry.GATEWAYS[account.provider]
        shown = [
            f"{field.name}={account.settings.get(field.name, field.default)}"
            for field in gateway.account_fields
        ]
        return ", ".join(shown)

    @admin.display(description=_("secrets in the environment"))
    def secrets(self, account: ProviderAccount) -> str:
        gateway = registry.GATEWAYS[account.provider]
        names = [account.settings.get(f.name, "") for f in gateway.account_fields if f.secret]
        if not names:
            return "-"
        missing = [name for name in names if not accounts.secret_is_set(name)]
        if missing:
            return format_html(
                '<span class="badge" style="background:#dc3545">{} {}</span>',
                _("missing"),
                ", ".join(missing),
            )
        return str(_("set"))

    @admin.display(description=_("registers"))
    def used_by(self, account: ProviderAccount) -> str:
        return ", ".join(str(register) for register in account.registers.all()) or "-"

    @admin.display(description=_("cannot serve"), empty_value="")
    def serves(self, account: ProviderAccount) -> str:
        # A mark and why only where the account cannot serve: nothing on the rest.
        problem = accounts.problem_of(account)
        if problem is None:
            return ""
        return format_html("{} {}", flag(True, problem[1]), problem[1])
