"""The database a release leaves behind, kept as a test input (tests/upgrade/).

Today's migrations must take the database the previous release served from, and the service
must then serve its payments. This script makes that database with the release's own code:
it unpacks the release's tree from git, runs its `migrate` on an empty SQLite file and an
empty PostgreSQL database, fills both with payments of every provider and status through the
release's own test factories (each payment walked through its states, with its timeline),
and dumps each as SQL beside this file:

    python -m tests.upgrade.release_fixture [--commit C] [--postgres URL]

Every release refreshes the fixture: change RELEASE to the commit just released, run the
script, commit the two dumps. The PostgreSQL server must be the major version CI runs.
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import uuid
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# The release whose database the fixture is: the commit this project last released.
RELEASE = "4b11fb5"


def dump_path(engine: str, release: str = RELEASE) -> Path:
    return HERE / f"release-{release}.{engine}.sql"


# Run by the release's own `manage.py shell`, so it may use only what that release has:
# its models, its test factories, its status names.
SEED = """
from payments.models import PaymentStatus
from tests.factories import make_payment, shop_register

register = shop_register()
paid_ids = iter(range(9_000_001, 9_000_100))
for provider in ("click", "payme", "uzum", "humo"):
    for status in PaymentStatus.values:
        fields = {}
        if status in (PaymentStatus.PAID, PaymentStatus.REVERSED):
            fields["provider_payment_id"] = str(next(paid_ids))
        if status == PaymentStatus.REVERSED:
            fields["reversed_amount"] = 500
        make_payment(provider=provider, status=status, register=register, **fields)
    if provider != "humo":
        # A paid payment whose receipt the register has not sent yet, and one the provider
        # refused so far.
        make_payment(provider=provider, status="paid", provider_payment_id=str(next(paid_ids)),
                     fiscal_status="pending")
        make_payment(provider=provider, status="paid", provider_payment_id=str(next(paid_ids)),
                     fiscal_status="failed", fiscal_attempts=1, fiscal_error="refused")
purchase = make_payment(provider="humo", amount=70000, status="paid",
                        provider_payment_id="RRN-700001", slip_text="ОДОБРЕНО")
make_payment(provider="humo", amount=20000, status="paid", operation="reversal",
             reverses=purchase, provider_payment_id="RRN-700002")
"""


def unpack(commit: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def build(tree: Path, database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ALLOW_TEST_DEPLOYMENT": "true",
        "PROVIDER_SECRET_UZUM": "release-fixture",
    }
    env.pop("ENV_FILE", None)
    manage = [sys.executable, str(tree / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=tree, env=env, check=True)
    subprocess.run([*manage, "shell", "-c", SEED], cwd=tree, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default=RELEASE)
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a server where a scratch database may be made and dropped",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "release"
        unpack(options.commit, tree)

        sqlite_file = Path(scratch) / "release.sqlite3"
        build(tree, f"sqlite:///{sqlite_file}")
        with sqlite3.connect(sqlite_file) as database:
            text = "\n".join(database.iterdump()) + "\n"
        dump_path("sqlite", options.commit).write_text(text)

        name = f"release_{uuid.uuid4().hex[:8]}"
        server = options.postgres
        subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True)
        try:
            url = server.rsplit("/", 1)[0] + f"/{name}"
            build(tree, url)
            dumped = subprocess.run(
                ["pg_dump", "--no-owner", "--no-privileges", url],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            dump_path("postgres", options.commit).write_text(dumped)
        finally:
            subprocess.run(["psql", server, "-qc", f"DROP DATABASE {name}"], check=True)
    print(
        f"written: {dump_path('sqlite', options.commit)}, {dump_path('postgres', options.commit)}"
    )


if __name__ == "__main__":
    main()
