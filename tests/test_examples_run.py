"""docs/examples/walkthrough.sh, every example of the README and docs/api.md in order, runs
as written against `make run`, and again on the same database the next day."""

import os
import subprocess
import sys

from tests.helpers import ROOT, local_run

SCRIPT = ROOT / "docs" / "examples" / "walkthrough.sh"


def test_the_examples_run_as_written_and_again_on_yesterdays_database(tmp_path) -> None:
    database = tmp_path / "db.sqlite3"
    with local_run(database, tmp_path / "run.out", workers=1, threads=4) as (base, _, emulator):
        env = {
            name: value
            for name, value in os.environ.items()
            if name != "DATABASE_URL" and not name.startswith(("CLICK_", "PAYME_", "UZUM_"))
        }
        env |= {
            "API": base,
            "CLICK_EMULATOR": f"http://127.0.0.1:{emulator}",
            # reconcile as a person runs it beside make run: what make run left is its setup
            "MANAGE": f"{sys.executable} {ROOT / 'manage.py'}",
            "LOCAL_RUN_ENV": str(tmp_path / "local.env"),
        }
        for day in ("first", "second"):
            ran = subprocess.run(
                ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300
            )
            assert ran.returncode == 0, f"{day} run:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
            assert ran.stdout.count('"is_success":true') >= 20, ran.stdout[-2000:]
