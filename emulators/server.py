"""What the provider emulators share: an HTTP server whose app scripts faults.

An emulator app has `handle(method, path, headers, raw) -> Reply`, `hang_seconds`,
`stats()` and `reset()`. The server answers the reply, or plays its fault: no answer at all
(`hang`), a connection reset (`reset`), or a late answer (`delay`). `/_emulator/stats` and
`/_emulator/reset` are served for every app, so tests can count what the provider accepted;
`/_emulator/faults` (or `server.faults.inject`) makes the next requests of one operation
time out before or after the provider acted, fail with HTTP 500, answer with a body that is
not JSON, or reset the connection.
"""

import contextlib
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str | None = None
    # "answer", or a fault: "hang" (never answers), "reset" (connection reset)
    action: str = "answer"
    delay: float = 0.0


class EmulatorApp(Protocol):
    hang_seconds: float

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply: ...

    def operation_of(self, method: str, path: str, raw: bytes) -> str:
        """The name of the provider call, as the service's journal names it."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


# Faults that can be injected for the next requests of an operation (`Faults.inject`).
BEFORE = {
    "timeout_before": Reply(action="hang"),
    "server_error": Reply(500, "Internal Server Error"),
    "reset": Reply(action="reset"),
}
AFTER = {
    "timeout_after": Reply(action="hang"),
    "not_json": Reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    # The provider acted, then the connection was reset before its answer: a client that
    # retried on a reset would act twice.
    "reset_after": Reply(action="reset"),
}


class Faults:
    """Faults for the next requests of an operation: the fault matrix's switchboard."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, list[str]] = {}

    def inject(self, operation: str, fault: str, times: int = 1) -> None:
        if fault not in BEFORE and fault not in AFTER:
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._plans.setdefault(operation, []).extend([fault] * times)

    def take(self, operation: str) -> str | None:
        with self._lock:
            plan = self._plans.get(operation)
            return plan.pop(0) if plan else None

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()


def leading_number(text: str, digits: int, *, default: int) -> int:
    """The number in the first `digits` characters of a scripted code (else `default`)."""
    match = re.match(rf"\d{{{digits}}}", text)
    value = int(match.group()) if match else 0
    return value or default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle and delayed ACKs add
    # 40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: "EmulatorServer"

    def _serve(self) -> None:
        self.server.track(+1)
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (gave up, or was killed)
        finally:
            self.server.track(-1)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        reply = self._control(path, raw)
        if reply is None:
            if self.server.latency:
                time.sleep(self.server.latency)  # a provider's own processing time
            reply = self._with_faults(path, headers, raw)
        if reply.action == "hang":
            time.sleep(self.server.app.hang_seconds)
            self.close_connection = True
            return
        if reply.action == "reset":
            # SO_LINGER 0: closing sends RST, the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, str):
            payload, content_type = reply.body.encode(), "text/html; charset=utf-8"
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _with_faults(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        app = self.server.app
        fault = self.server.faults.take(app.operation_of(self.command, path, raw))
        if fault in BEFORE:
            return BEFORE[fault]  # the provider never acts
        reply = app.handle(self.command, path, headers, raw)
        # The provider acted; its answer is lost or garbled.
        return AFTER.get(fault, reply) if fault is not None else reply

    def _control(self, path: str, raw: bytes) -> Reply | None:
        if self.command == "GET" and path.rstrip("/") == "/_emulator/stats":
            return Reply(body=self.server.app.stats())
        if self.command == "POST" and path.rstrip("/") == "/_emulator/reset":
            self.server.app.reset()
            self.server.faults.clear()
            return Reply(body={"reset": True})
        if self.command == "POST" and path.rstrip("/") == "/_emulator/faults":
            plan = json.loads(raw or b"{}")
            self.server.faults.inject(plan["operation"], plan["fault"], int(plan.get("times", 1)))
            return Reply(body={"injected": plan})
        return None

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 (http.server names)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # many clients connect at once (races, reconcile's pool)

    def __init__(
        self,
        app: EmulatorApp,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        latency: float = 0.0,
    ) -> None:
        self.app = app
        self.path = path
        self.latency = latency
        self.faults = Faults()
        self.in_flight = self.peak_in_flight = 0  # requests being served at once
        self._counting = threading.Lock()
        self.verbose = False
        super().__init__((host, port), _Handler)

    def track(self, change: int) -> None:
        with self._counting:
            self.in_flight += change
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    @property
    def emulator(self) -> EmulatorApp:
        return self.app

    @property
    def url(self) -> str:
        return f"{self._origin}{self.path}"

    @property
    def control_url(self) -> str:
        return f"{self._origin}/_emulator/"

    @property
    def _origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="emulator", daemon=True)
        thread.start()
        return thread

    def serve_until_interrupted(self, banner: str) -> None:
        print(f"{banner} on {self.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            self.serve_forever()
