"""Write docs/reliability.md from the fault-matrix cells the last test run observed.

.venv/bin/python -m pytest tests/reliability && .venv/bin/python -m tests.reliability.report
"""

import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / ".run" / "fault-matrix.json"
TARGET = ROOT / "docs" / "reliability.md"

CODES = {0: "success", 104: "104", 106: "106", 108: "108", 110: "110"}

INTRO = """# Reliability: the fault matrix

Every provider and PIN-pad call, under every fault, as the test suite
`tests/reliability/test_fault_matrix.py` observed it. A cell runs the register's request
against the emulators with the fault injected, then runs the operators' commands
(`reconcile`, `retry_fiscal`) and checks three things:

- the register's answer was right: success only if the money moved, 104/108 only if it
  certainly did not, 110 while nobody could know;
- the provider or terminal took at most one charge;
- the payment ended in its true final state (for fiscal calls: the receipt is on file; for a
  PIN-pad cancel, `paid` means the cancel went through and the purchase is reversed).

Each cell reads `answer → final state (charges)`, with ✅ when all three held. The table is
generated: `python -m pytest tests/reliability && python -m tests.reliability.report`.

Faults on HTTP calls: **refused** (nothing listens), **timeout before** (the provider never
acts), **timeout after** (it acted, the answer is lost), **HTTP 500**, **not JSON** (it
acted, the body is an HTML page), **reset** (connection reset before it acted). A refused
connection applies only to the first call of a flow: later calls go to a host that just
answered. PIN-pad faults are scripted in the emulator by the amount (README).
"""


def main() -> None:
    cells = json.loads(SOURCE.read_text())
    faults: list[str] = []
    rows: dict[str, dict[str, dict]] = defaultdict(dict)
    for cell in cells:
        if cell["fault"] not in faults:
            faults.append(cell["fault"])
        rows[cell["call"]][cell["fault"]] = cell
    http = [
        f
        for f in faults
        if f in ("refused", "timeout_before", "timeout_after", "server_error", "not_json", "reset")
    ]
    line = [f for f in faults if f not in http]
    out = [INTRO]
    for title, columns, calls in (
        ("Provider calls", http, [c for c in rows if not c.startswith("PIN pad")]),
        ("PIN-pad calls", line, [c for c in rows if c.startswith("PIN pad")]),
    ):
        out.append(f"\n## {title}\n")
        out.append("| call | " + " | ".join(_title(f) for f in columns) + " |")
        out.append("|---" * (len(columns) + 1) + "|")
        for call in calls:
            out.append(
                f"| {call} | " + " | ".join(_cell(rows[call].get(f)) for f in columns) + " |"
            )
    held = [c for c in cells if c.get("applies")]
    out.append(
        f"\n{sum(1 for c in held if c['holds'])} of {len(held)} cells hold; "
        f"{len(cells) - len(held)} do not apply.\n"
    )
    TARGET.write_text("\n".join(out))
    print(f"wrote {TARGET.relative_to(ROOT)} from {len(cells)} cells")


def _title(fault: str) -> str:
    return (
        fault.replace("_", " ").replace("server error", "HTTP 500").replace("not json", "not JSON")
    )


def _cell(cell: dict | None) -> str:
    if cell is None:
        return "—"
    if not cell["applies"]:
        return "n/a"
    mark = "✅" if cell["holds"] else "❌"
    answer = CODES.get(cell["code"], str(cell["code"]))
    return f"{mark} {answer} → {cell['final']} ({cell['charges']})"


if __name__ == "__main__":
    main()
