"""The register the service served before it knew registers, made from the settings it was
configured with, and given every existing payment and Idempotency-Key.

It is bound to FIRST_REGISTER_NETWORKS (by default loopback and the private ranges: a
shop's LAN), so registers that call without a key keep being served after the upgrade.
Every journal row is its too (the end-of-day rows, which belong to no payment, included).
Narrow that setting, or give the register keys, once the registers are known.
"""

from django.conf import settings
from django.db import migrations


def first_register(apps, schema_editor) -> None:
    Register = apps.get_model("payments", "Register")
    ProviderAccount = apps.get_model("payments", "ProviderAccount")
    Payment = apps.get_model("payments", "Payment")
    IdempotencyKey = apps.get_model("payments", "IdempotencyKey")
    ProviderExchange = apps.get_model("payments", "ProviderExchange")
    register = Register.objects.create(
        name=settings.FIRST_REGISTER_NAME,
        inn=settings.REGISTER_INN,
        kkm_id=settings.REGISTER_KKM_ID,
        device_id=settings.REGISTER_DEVICE_ID,
        cashbox_code=settings.REGISTER_CASHBOX_CODE,
        networks="\n".join(settings.FIRST_REGISTER_NETWORKS),
    )
    # Secrets stay in the environment under the names they always had.
    accounts = [
        ProviderAccount.objects.create(
            provider="click",
            name=f"CLICK service {settings.CLICK_SERVICE_ID}",
            settings={
                "service_id": str(settings.CLICK_SERVICE_ID),
                "merchant_user_id": str(settings.CLICK_MERCHANT_USER_ID),
                "secret_key": "CLICK_SECRET_KEY",
            },
        ),
        ProviderAccount.objects.create(
            provider="payme",
            name=f"Payme cashbox {settings.PAYME_CASHBOX_ID}",
            settings={"cashbox_id": str(settings.PAYME_CASHBOX_ID), "key": "PAYME_KEY"},
        ),
    ]
    if settings.PINPAD_URL:
        accounts.append(
            ProviderAccount.objects.create(
                provider="humo",
                name=f"PIN pad {settings.PINPAD_URL}",
                settings={
                    "url": settings.PINPAD_URL,
                    "protocol": settings.PINPAD_PROTOCOL,
                    "baudrate": str(settings.PINPAD_BAUDRATE),
                    "bytesize": str(settings.PINPAD_BYTESIZE),
                    "parity": settings.PINPAD_PARITY,
                    "stopbits": str(settings.PINPAD_STOPBITS).removesuffix(".0"),
                    "pos": settings.PINPAD_POS_NUMBER,
                },
            )
        )
    register.accounts.set(accounts)
    Payment.objects.filter(register__isnull=True).update(register=register)
    IdempotencyKey.objects.filter(register__isnull=True).update(register=register)
    ProviderExchange.objects.filter(register__isnull=True).update(register=register)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_registers"),
    ]

    operations = [
        migrations.RunPython(first_register, migrations.RunPython.noop),
    ]
