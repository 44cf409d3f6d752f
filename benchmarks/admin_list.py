"""How the operators' payment list behaves on 1,000,000 payments (PostgreSQL).

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/admin_list.py

It makes a throw-away test database, fills it with a million payments in one SQL
statement, and opens the admin's list pages as a logged-in operator, printing for each
the number of SQL queries and the time.
"""

import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from payments.models import CountedDay  # noqa: E402
from payments.services import tallies  # noqa: E402

ROWS = 1_000_000

FILL = """
INSERT INTO payments_payment (
    register_id, transaction_id, provider, operation, amount, qr_code, provider_payment_id, status,
    provider_status, provider_code, provider_message, fiscal_status, fiscal_receipt_url,
    fiscal_error, fiscal_attempts, payer_phone, masked_card, auth_code, terminal_id,
    slip_text, needs_attention, created_at, updated_at, reversed_amount, fiscal_sending_url,
    paid_at
)
SELECT
    (SELECT min(id) FROM payments_register),
    md5(i::text)::uuid,
    (ARRAY['click', 'payme', 'humo'])[1 + i %% 3],
    'purchase',
    100 + (i %% 5000) * 100,
    CASE WHEN i %% 3 = 2 THEN NULL ELSE '7' || lpad(i::text, 17, '0') END,
    '5' || lpad(i::text, 11, '0'),
    (ARRAY['paid', 'paid', 'paid', 'failed', 'unknown'])[1 + i %% 5],
    '', '', '',
    (ARRAY['submitted', 'pending', 'not_required'])[1 + i %% 3],
    '', '', 0,
    '99890' || lpad((i %% 10000000)::text, 7, '0'),
    '986009******' || lpad((i %% 10000)::text, 4, '0'),
    '', '', '', i %% 97 = 0,
    now() - make_interval(secs => i * 2),
    now() - make_interval(secs => i * 2),
    0, '',
    CASE WHEN i %% 5 < 3 THEN now() - make_interval(secs => i * 2 - 1) END
FROM generate_series(1, %s) AS i
"""


def measure(
    client: Client, label: str, url: str, *, before: Callable[[], None] | None = None
) -> None:
    client.get(url)  # warm: templates compiled, caches filled
    if before is not None:
        before()
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        response = client.get(url)
        elapsed = (time.monotonic() - started) * 1000
    assert response.status_code == 200, response.status_code
    print(f"{label:<34} {len(queries):>3} queries  {elapsed:7.0f} ms")


def forget_counts() -> None:
    """As on the first look after the install: every past day is counted."""
    CountedDay.objects.all().delete()


def yesterday_changed() -> None:
    """As after reconcile settled a payment of yesterday: that day is counted again."""
    tallies.mark_changed([timezone.localdate() - timedelta(days=1)])


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("run it on PostgreSQL: DATABASE_URL=postgres://...")
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(FILL, [ROWS])
            cursor.execute("ANALYZE payments_payment")
        print(f"filled {ROWS:,} payments in {time.monotonic() - started:.0f} s\n")
        operator = User.objects.create_superuser("bench", password="bench-password-1")
        client = Client()
        client.force_login(operator)
        base = "/admin/payments/payment/"
        measure(client, "list, first page", base)
        measure(client, "list, page 500", base + "?p=500")
        measure(client, "filter: status unknown", base + "?status=unknown")
        measure(
            client,
            "filter: provider + date range",
            base + "?provider=payme&created_at_from=2026-11-01&created_at_to=2026-11-30",
        )
        measure(client, "search: provider id", base + "?q=500000123456")
        measure(client, "search: payer phone", base + "?q=998900123456")
        measure(client, "search: scanned code", base + "?q=700000000000123456")
        pk = connection.cursor()
        pk.execute("SELECT id FROM payments_payment ORDER BY created_at DESC LIMIT 1")
        measure(client, "one payment's page", f"{base}{pk.fetchone()[0]}/change/")
        overview = base + "overview/"
        measure(client, "overview, nothing counted yet", overview, before=forget_counts)
        measure(client, "overview, yesterday changed", overview, before=yesterday_changed)
        measure(client, "overview", overview)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
