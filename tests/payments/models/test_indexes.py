"""The payments table and the journal keep few indexes, because every charge writes an
entry into each of them. What the operators and the service look rows up by must still find
its index: on a table of many rows each of these lookups is planned on one, never a scan."""

import re

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.db.models import F
from django.test import RequestFactory

from payments.models import Payment
from payments.selectors import (
    last_day_closed,
    other_payment_with_receipt,
    overdue_receipts,
    paid_reversals_sum,
    shift_operations,
)
from tests.factories import make_payment, shop_register

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's plans (production's database)"
    ),
]

ROWS = 20_000

# Most rows as a charge leaves them: no phone, no receipt yet, no reversal. The ids and
# codes are unique, so a lookup by one matches a single row.
FILL = """
INSERT INTO payments_payment (
    register_id, transaction_id, provider, operation, amount, reversed_amount, qr_code,
    provider_payment_id, status, provider_status, provider_code, provider_message,
    fiscal_status, fiscal_receipt_url, fiscal_error, fiscal_attempts, fiscal_sending_url,
    payer_phone, masked_card, auth_code, terminal_id, slip_text, needs_attention,
    created_at, updated_at
)
SELECT
    %s, md5(i::text)::uuid, 'click', 'purchase', 50000, 0, '77' || lpad(i::text, 12, '0'),
    '5' || lpad(i::text, 11, '0'), 'paid', '', '', '', 'pending', '', '', 0, '',
    CASE WHEN i %% 50 = 0 THEN '99890' || lpad(i::text, 7, '0') ELSE '' END,
    '', '', '', '', false, now() - make_interval(secs => i), now()
FROM generate_series(1, %s) AS i
"""


@pytest.fixture
def many_payments():
    register = shop_register()
    with connection.cursor() as cursor:
        cursor.execute(FILL, [register.pk, ROWS])
        cursor.execute("ANALYZE payments_payment")
    return register


def plan_of(queryset) -> str:
    return queryset.explain()


def pages_read(queryset) -> int:
    """The pages the query touched when it ran: a lookup by an index reads a few, while an
    index scanned whole for a column that is not its first reads hundreds."""
    plan = queryset.explain(analyze=True, buffers=True)
    counts = re.search(r"Buffers: shared (?:hit=(\d+))?\s*(?:read=(\d+))?", plan)
    assert counts is not None, plan
    return sum(int(n) for n in counts.groups() if n)


def searched(term: str):
    request = RequestFactory().get("/admin/payments/payment/", {"q": term})
    found, _ = site._registry[Payment].get_search_results(request, Payment.objects.all(), term)
    return found


@pytest.mark.parametrize(
    "term", ["500000012345", "77000000000123", "998900000100", "900000100"], ids=str
)
def test_the_search_box_finds_each_kind_of_id_by_its_index(many_payments, term):
    plan = plan_of(searched(term))

    assert "Seq Scan" not in plan, plan
    for index in (
        "payment_provider_id_unique",
        "payment_qr_code_once_per_provider",
        "payment_payer_phone",
    ):
        assert index in plan, plan
    assert pages_read(searched(term)) < 30
    assert searched(term).count() == 1


def test_a_register_name_in_the_search_box_is_no_join(many_payments):
    plan = plan_of(searched(many_payments.name))

    assert "Seq Scan" not in plan, plan
    assert "payments_register" not in plan, plan


def test_a_receipt_url_is_looked_up_by_its_index(many_payments):
    payment = Payment.objects.first()
    queries = Payment.objects.filter(fiscal_receipt_url="https://ofd.soliq.uz/check?t=1")
    assert "payment_fiscal_receipt" in plan_of(queries.exclude(pk=payment.pk))
    assert other_payment_with_receipt("https://ofd.soliq.uz/check?t=1", payment) is None


def test_a_purchases_reversals_are_looked_up_by_their_index(many_payments):
    purchase = make_payment(status="paid")
    reversal = make_payment(status="paid", operation="reversal", reverses=purchase, amount=100)

    plan = plan_of(Payment.objects.filter(reverses=purchase, status="paid"))

    assert "payment_reversals" in plan or "payment_one_open_reversal" in plan, plan
    assert paid_reversals_sum(purchase) == reversal.amount


def test_overdue_receipts_are_listed_latest_first_from_their_index(many_payments):
    """The overview's list: paid long enough ago, receipt still awaited, latest first."""
    Payment.objects.update(paid_at=F("created_at"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_payment")
    overdue = overdue_receipts().order_by("-paid_at")[:100]

    plan = plan_of(overdue)

    assert "payment_fiscal_backlog" in plan, plan
    assert "Sort" not in plan, plan
    assert pages_read(overdue) < 30
    assert len(overdue) == 100


# A journal of many exchanges: most are QR charges of the register, some its terminal's.
JOURNAL = """
INSERT INTO payments_providerexchange (
    payment_id, register_id, provider, operation, method, url, request_headers,
    response_body, error, duration_ms, started_at, created_at
)
SELECT
    NULL, %s, CASE WHEN i %% 10 = 0 THEN 'humo' ELSE 'click' END,
    CASE WHEN i %% 10 = 0 THEN 'purchase' ELSE 'click_pass/payment' END,
    'POST', '', '{}', '', '', 1, now() - make_interval(secs => i), now()
FROM generate_series(1, %s) AS i
"""


def test_a_registers_shift_is_found_by_the_lines_index(many_payments):
    with connection.cursor() as cursor:
        cursor.execute(JOURNAL, [many_payments.pk, ROWS])
        cursor.execute("ANALYZE payments_providerexchange")
    purchases, reversals = shift_operations("humo", many_payments, since=None, until=None)
    plans = [plan_of(purchases), plan_of(reversals)]

    for plan in plans:
        assert "exchange_line_order" in plan, plan
        assert "Seq Scan on payments_providerexchange" not in plan, plan
    assert last_day_closed("humo", many_payments) is None
