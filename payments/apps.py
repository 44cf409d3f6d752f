from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments import checks  # noqa: F401 - registers the system checks
        from payments.services import accounts  # noqa: F401 - forgets changed accounts
