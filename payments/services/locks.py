"""Work that must run once at a time per database, whatever the number of processes or
machines: a PostgreSQL advisory lock (released with the connection, so a run that dies
cannot keep it), or on SQLite a lock file beside the database."""

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection


@contextmanager
def only_one(name: str) -> Iterator[bool]:
    """Hold the lock called `name` while the block runs; yields False, holding nothing,
    when another run has it."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    descriptor = os.open(_lock_file(name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _lock_file(name: str) -> Path:
    database = str(connection.settings_dict["NAME"])
    if database.startswith(("file:", ":memory:")) or "mode=memory" in database:
        # An in-memory database lives in one process: two processes with the same name for
        # theirs (two test runs) hold two databases, and must not keep each other out.
        digest = hashlib.sha256(f"{os.getpid()}:{database}".encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"payments-{digest}.{name}.lock"
    return Path(f"{database}.{name}.lock")
