"""What the operators' commands print: a progress bar on long runs and a summary table."""

import time
from collections.abc import Sequence
from typing import Any, Protocol

from django.core.management.base import BaseCommand

from payments import metrics
from payments.services import locks


class Output(Protocol):
    """Where a command writes (its `self.stderr`, a file)."""

    def write(self, text: str) -> Any: ...

    def flush(self) -> None: ...


class Progress:
    """`[#####.....] 512/1000` on one line, redrawn at most every 0.2 s."""

    def __init__(self, total: int, out: Output, label: str = "", width: int = 30) -> None:
        self.total, self.out, self.label, self.width = total, out, label, width
        self.done = 0
        self._drawn = 0.0

    def __call__(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.done == self.total or now - self._drawn >= 0.2:
            self._drawn = now
            filled = self.width * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (self.width - filled)
            end = "\n" if self.done == self.total else ""
            self.out.write(f"\r{self.label}[{bar}] {self.done}/{self.total}{end}")
            self.out.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns as wide as their widest cell."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class OneAtATimeCommand(BaseCommand):
    """A command that runs once at a time per database: a second run started while one
    works would ask and write the same payments twice over, so it says so and does
    nothing. Subclasses implement `run(options)` and note what it changed in `self.changes`
    ((provider, was, now) -> payments)."""

    changes: dict[tuple[str, str, str], int]

    def handle(self, *args: Any, **options: Any) -> None:
        with locks.only_one(self.lock_name) as mine:
            if not mine:
                self.stderr.write(f"another {self.lock_name} is running: this one did nothing")
                return
            # What the run changed, filled by `run`, is left for the metrics with its
            # time and exit code.
            with metrics.job_run(self.lock_name) as self.changes:
                self.run(options)

    @property
    def lock_name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]

    def run(self, options: dict[str, Any]) -> None:
        raise NotImplementedError
