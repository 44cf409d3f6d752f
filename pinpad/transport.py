"""Opening the line to the PIN pad: one holder at a time, across threads and processes.

A lock file (`flock`) is taken first, waiting at most `lock_wait` seconds (0: fail at once
with "busy"); then the port is opened exclusively with pyserial's `serial_for_url`, so a
device path (`/dev/serial/by-id/...`, `/dev/ttyUSB0`, a pty) and `socket://host:port` work
alike. The port is opened for one operation and closed after it: a USB-serial adapter that
re-enumerated, or an emulator that re-created its pty, is simply opened again.
"""

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import serial

from pinpad import reasons
from pinpad.link import LINE_ERRORS


class PinpadBusy(Exception):
    """Another request (this process or another) holds the line."""


class PinpadUnavailable(Exception):
    """The line cannot be opened: nothing was sent."""


@dataclass(frozen=True)
class LineSettings:
    url: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    write_timeout: float = 2.0
    lock_dir: Path = Path("/tmp")
    lock_wait: float = 30.0
    reopen_backoff: tuple[float, ...] = (1.0, 2.0, 5.0)

    @property
    def lock_path(self) -> Path:
        digest = hashlib.sha1(self.url.encode()).hexdigest()[:16]
        return self.lock_dir / f"pinpad-{digest}.lock"


@contextmanager
def line_lock(line: LineSettings) -> Iterator[None]:
    """Hold the line's lock file; PinpadBusy if it stays taken for `lock_wait` seconds.

    Each holder opens the file anew: flock locks belong to the open file, so two threads of
    one process exclude each other just as two processes do.
    """
    line.lock_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(line.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + line.lock_wait
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise PinpadBusy(reasons.SERVING_ANOTHER) from exc
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def open_line(line: LineSettings) -> Iterator[serial.SerialBase]:
    """The open port, under the line's lock, with stale input dropped."""
    with line_lock(line):
        port = _open(line)
        try:
            yield port
        finally:
            with contextlib.suppress(*LINE_ERRORS):
                port.close()


def _open(line: LineSettings) -> serial.SerialBase:
    attempts = (0.0, *line.reopen_backoff)
    for pause in attempts:
        time.sleep(pause)
        port = None
        try:
            port = serial.serial_for_url(
                line.url,
                baudrate=line.baudrate,
                bytesize=line.bytesize,
                parity=line.parity,
                stopbits=line.stopbits,
                timeout=0,
                write_timeout=line.write_timeout,
                exclusive=True,
            )
            # Bytes left from an earlier, abandoned exchange must not be read as an answer.
            port.reset_input_buffer()
            return port
        except LINE_ERRORS as exc:
            error = exc
            if port is not None:
                with contextlib.suppress(*LINE_ERRORS):
                    port.close()
    raise PinpadUnavailable(reasons.CANNOT_OPEN % {"url": line.url, "error": error})


def line_present(url: str, *, timeout: float = 1.0) -> str | None:
    """Whether the line is there, without opening it (a request may hold it): a device path
    must exist, a network line (`socket://`, `rfc2217://`) must take a connection. None
    when it is there, else why not."""
    if not url:
        return "no line configured"
    scheme, _, rest = url.partition("://")
    if not rest:  # a device path
        return None if os.path.exists(url) else f"{url} does not exist"
    host, _, port = rest.split("/", 1)[0].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except (OSError, ValueError) as exc:
        return f"{scheme}://{host}:{port} does not answer: {exc}"
