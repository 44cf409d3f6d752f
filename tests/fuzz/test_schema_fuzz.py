"""The API schema holds against the running service: schemathesis generates requests from
/api/schema/ (valid ones and invalid ones) and sends them to `make run`'s service (gunicorn,
SQLite, the emulators, the PIN-pad emulator on its pty). Not one answer may be a 5xx, come
outside the envelope, or contradict the schema (status, content type, headers, body).

Slow (a few minutes): `make fuzz` runs it, and `.ci/run` after the test suite."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import local_run

pytestmark = pytest.mark.fuzz

AT_LEAST = 2000
EXAMPLES_PER_OPERATION = 300
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


def fuzz(base: str, key: str, har: Path) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base}/api/schema/",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261128",
        # One worker: Hypothesis describes its strategies with `ast.parse`, which this
        # Python 3.11 can fail across threads (CPython gh-106905: SystemError "AST
        # constructor recursion depth mismatch", seen here with four workers).
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "har",
        "--report-har-path",
        str(har),
    ]
    # In the HAR's directory: schemathesis keeps a cache of failures in its working directory,
    # which belongs to no checkout.
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=har.parent)


def test_generated_requests_get_answers_the_schema_allows(tmp_path) -> None:
    printed = tmp_path / "run_local.out"
    with local_run(tmp_path / "db.sqlite3", printed, workers=2, threads=8) as (base, _, _):
        key = re.search(r"key for other addresses: (rk_\S+)", printed.read_text()).group(1)
        har = tmp_path / "fuzz.har"
        run = fuzz(base, key, har)
    entries = json.loads(har.read_text())["log"]["entries"]
    server_errors = [e for e in entries if e["response"]["status"] >= 500]
    outside = [e for e in entries if not _in_the_envelope(e["response"])]
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert len(entries) >= AT_LEAST, summary
    assert server_errors == [], server_errors[:3]
    assert outside == [], outside[:3]


def _in_the_envelope(response: dict) -> bool:
    try:
        body = json.loads(response["content"].get("text") or "")
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"data", "error", "is_success"}
