"""deploy/production.env: with its placeholders filled in, Django's deployment checklist
and ours find nothing to say."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.helpers import ROOT

TEMPLATE = ROOT / "deploy" / "production.env"

# What an operator would put in place of each CHANGE_ME.
FILLED = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "CLICK_SERVICE_ID": "40012",
    "UZUM_SERVICE_ID": "4012",
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


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_unfilled_template_is_refused_naming_each_variable_without_a_traceback(
    tmp_path,
) -> None:
    env = production_env(tmp_path)
    for line in TEMPLATE.read_text().splitlines():  # as it is shipped
        name, _, value = line.partition("=")
        if "CHANGE_ME" in value:
            env[name] = value
    checked = _check(env)
    assert checked.returncode == 1
    assert "Traceback" not in checked.stderr, checked.stderr
    assert "CLICK_SERVICE_ID='CHANGE_ME'" in checked.stderr  # a number's variable, unreadable
    for name in ("SECRET_KEY", "CLICK_SECRET_KEY", "PAYME_KEY", "METRICS_TOKEN", "DATABASE_URL"):
        assert f"{name} still holds the template's placeholder" in checked.stderr


MALFORMED = {
    "PAYME_ACCOUNT": "{not json",
    "PINPAD_ANSWER_WAIT": "",
    "GUNICORN_WORKERS": "two",
    "TRUSTED_PROXIES": "127.0.0.1/32,nginx",
    "METRICS_NETWORKS": "300.1.1.1/8",
    "LOG_LEVEL": "LOUD",
    "LOG_FORMAT": "xml",
}


@pytest.mark.parametrize("name", [*MALFORMED, "DATABASE_URL"])
def test_a_malformed_or_empty_value_is_refused_with_its_name(tmp_path, name) -> None:
    value = MALFORMED.get(name, "")
    checked = _check(production_env(tmp_path) | {name: value})
    assert checked.returncode == 1
    assert "Traceback" not in checked.stderr, checked.stderr
    assert f"(payments.E009) {name}={value!r}" in checked.stderr


def test_debug_outside_a_test_deployment_is_refused(tmp_path) -> None:
    checked = _check(production_env(tmp_path) | {"DEBUG": "true"})
    assert checked.returncode == 1
    assert "payments.E008" in checked.stderr
