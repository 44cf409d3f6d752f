"""deploy/ and docs/deploy.md say one thing: the check's fail level, the environment file's
mode, and what the units that talk to PIN pads are given."""

import re

import pytest

from tests.helpers import ROOT

SYSTEMD = ROOT / "deploy" / "systemd"
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()


def unit(name: str) -> dict[str, list[str]]:
    """A unit file's settings, each with every value it was given."""
    settings: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_one_fail_level_for_the_checks() -> None:
    levels = set(re.findall(r"manage check .*--fail-level (\w+)", DEPLOY_DOC))
    started = unit("payments.service")["ExecStartPre"][0]
    assert levels == set(re.findall(r"--fail-level (\w+)", started)) == {"ERROR"}


def test_one_mode_for_the_environment_file() -> None:
    installed = re.findall(r"install -m (\d+) .*deploy/production.env", DEPLOY_DOC)
    said = re.findall(r"mode (\d+)", (ROOT / "deploy" / "production.env").read_text())
    assert installed == said == ["640"]


@pytest.mark.parametrize(
    "name", ["payments.service", "payments-reconcile.service", "payments-close-day.service"]
)
def test_what_talks_to_pin_pads_may_open_their_lines_and_locks(name: str) -> None:
    settings = unit(name)
    assert "dialout" in settings["SupplementaryGroups"]
    assert "/run/lock" in " ".join(settings["ReadWritePaths"]).split()


def test_every_timer_has_its_service_and_every_unit_the_docs_name_exists() -> None:
    for timer in SYSTEMD.glob("*.timer"):
        assert (SYSTEMD / f"{timer.stem}.service").exists(), timer
    for named in set(re.findall(r"(payments[\w-]*\.(?:service|timer))", DEPLOY_DOC)):
        assert (SYSTEMD / named).exists(), named
