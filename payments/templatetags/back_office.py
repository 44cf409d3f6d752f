"""What the back office's templates say that Django's do not say well."""

from django import template
from django.utils.translation import ngettext

register = template.Library()


def _payments(count: int) -> str:
    return ngettext("%(count)s payment", "%(count)s payments", count)


def _registers(count: int) -> str:
    return ngettext("%(count)s register", "%(count)s registers", count)


def _keys(count: int) -> str:
    return ngettext("%(count)s register key", "%(count)s register keys", count)


def _accounts(count: int) -> str:
    return ngettext("%(count)s provider account", "%(count)s provider accounts", count)


def _actions(count: int) -> str:
    return ngettext("%(count)s operator's action", "%(count)s operators' actions", count)


# Each model's rows counted, in the plural form the number takes in the operator's
# language (Russian and Uzbek numbers do not follow Django's "one or not one").
COUNTED = {
    "payment": _payments,
    "register": _registers,
    "registerkey": _keys,
    "provideraccount": _accounts,
    "operatoraction": _actions,
}


@register.simple_tag
def rows_counted(opts: object, count: int) -> str:
    """`count` rows of the model `opts` describes: "13 платежей"."""
    counted = COUNTED.get(getattr(opts, "model_name", ""))
    if counted is None:
        name = opts.verbose_name if count == 1 else opts.verbose_name_plural  # type: ignore[attr-defined]
        return f"{count} {name}"
    return counted(count) % {"count": count}
