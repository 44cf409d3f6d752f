"""Two `reconcile` runs at once: one works, the other does nothing and says so. Neither
deadlocks, neither loses what it asked."""

from io import StringIO

import pytest
from django.core.management import call_command

from payments.models import Payment, PaymentStatus, ProviderExchange
from tests.factories import make_payment
from tests.helpers import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_reconciles_at_once_one_works_the_other_says_so(click, click_server) -> None:
    payments = [make_payment(status=PaymentStatus.PROCESSING) for _ in range(40)]
    for payment in payments:
        click.record_charge(payment.qr_code, 5, str(payment.transaction_id))
    click_server.latency = 0.05  # each lookup takes a while: the runs overlap
    results: list[tuple[str, str]] = []

    def run_reconcile() -> None:
        out, err = StringIO(), StringIO()
        try:
            call_command("reconcile", "--min-age", "0", "--workers", "4", stdout=out, stderr=err)
        except Exception as exc:
            err.write(f"RAISED {type(exc).__name__}: {exc}")
        results.append((out.getvalue(), err.getvalue()))

    try:
        at_once([run_reconcile, run_reconcile])
    finally:
        click_server.latency = 0.0
    errors = [err for _, err in results]
    assert not any("RAISED" in err for err in errors), errors
    assert sum("another reconcile is running" in err for err in errors) == 1
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.PAID}
    # Each payment was asked once, by the run that worked.
    lookups = ProviderExchange.objects.filter(operation="payment/status_by_mti").count()
    assert lookups == len(payments)
