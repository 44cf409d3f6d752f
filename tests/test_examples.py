"""The README's and docs/api.md's examples are sections of docs/examples/walkthrough.sh,
copied as they are, and in its order: what the docs show is what the script runs
(tests/test_examples_run.py runs it against `make run`)."""

import re

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "docs" / "examples" / "walkthrough.sh"
SHOWN = re.compile(r"<!-- walkthrough: ([\w-]+) -->\n```sh\n(.*?)```\n", re.S)


def sections() -> dict[str, str]:
    text = SCRIPT.read_text()
    return {
        m.group(1): m.group(2) for m in re.finditer(r"# >>> ([\w-]+)\n(.*?)# <<<\n", text, re.S)
    }


@pytest.mark.parametrize("document", ["README.md", "docs/api.md"])
def test_every_example_shown_is_the_scripts_section_in_its_order(document: str) -> None:
    script = sections()
    shown = SHOWN.findall((ROOT / document).read_text())
    assert shown, document
    for name, text in shown:
        assert text == script[name], f"{document}: the {name!r} example is not the script's"
    order = list(script)
    positions = [order.index(name) for name, _ in shown]
    assert positions == sorted(positions), f"{document} shows the sections out of order"


def test_the_api_page_shows_the_whole_script() -> None:
    shown = {name for name, _ in SHOWN.findall((ROOT / "docs" / "api.md").read_text())}
    assert shown == set(sections())


def test_no_call_of_the_api_in_the_docs_is_left_outside_the_script() -> None:
    """A shell example the script does not run could rot: every `sh` block of these pages
    that calls the API is a section of it (one not to be run is `text`)."""
    for document in ("README.md", "docs/api.md"):
        text = (ROOT / document).read_text()
        calls = [b for b in re.findall(r"```sh\n(.*?)```\n", text, re.S) if "/payment/" in b]
        shown = [b for _, b in SHOWN.findall(text)]
        assert [b for b in calls if b not in shown] == [], document
