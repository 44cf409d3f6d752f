from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from payments import checks  # noqa: F401 - registers the system checks
        from payments.services import (
            accounts,  # noqa: F401 - forgets changed accounts
            reversals,  # noqa: F401 - counts a refund done on its purchase
            tallies,  # noqa: F401 - hears of payments that moved
        )
