"""deploy/production.env: with its placeholders filled in, Django's deployment checklist
and ours find nothing to say."""

import os
import secrets
import subprocess
import sys

from tests.helpers import ROOT

TEMPLATE = ROOT / "deploy" / "production.env"

# What an operator would put in place of each CHANGE_ME.
FILLED = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "CLICK_SERVICE_ID": "40012",
    "DATABASE_URL": "sqlite:///{tmp}/db.sqlite3",
}


def production_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLOW_TEST", "DJANGO"))}
    for line in TEMPLATE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            if "CHANGE_ME" in value:
                value = FILLED.get(name, secrets.token_hex(12)).format(tmp=tmp_path)
            env[name] = value
    return env


def test_the_production_template_passes_the_deployment_checklist(tmp_path) -> None:
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout
