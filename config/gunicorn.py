"""gunicorn's settings for this service: `gunicorn -c config/gunicorn.py config.wsgi`.

`make run` uses it, and so does production. Each setting can be overridden on the command
line (`--bind`, `--workers`, ...) or with the GUNICORN_* variables (config/settings.py reads
them, and the checks name one that cannot be read).

Why these: provider calls and the PIN pad block a thread for seconds to minutes, so the
workers are threaded (gthread). A graceful restart (SIGTERM, SIGHUP, a deploy) lets the
requests in flight finish: it waits the longest any request can spend on a provider or the
PIN pad (each gateway's `longest_wait()`, from the same settings the service runs with),
so a charge is never cut between the provider's answer and our record of it.
"""

import os
import socket
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from django.conf import settings

# prometheus-client picks its mode when first imported: the workers count in files, which a
# scrape adds up (payments/metrics.py). Only this server's processes do.
if settings.METRICS_WORKERS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.METRICS_WORKERS_DIR
django.setup()

from gunicorn import util  # noqa: E402

from payments import metrics  # noqa: E402 - after Django's setup
from payments.api.envelope import refused_before_django  # noqa: E402 - after Django's setup
from providers.registry import GATEWAYS  # noqa: E402 - after Django is set up


def _envelope_error(sock, status: int, reason: str, message: str) -> None:
    util.write_nonblock(sock, refused_before_django(status, reason, message))


# What gunicorn refuses itself (a request line or a header over its limits) would be an
# HTML page; a register reads only the envelope.
util.write_error = _envelope_error

bind = settings.GUNICORN_BIND
worker_class = "gthread"
# A charge holds its thread for the provider's whole answer (seconds), so an instance serves
# at most workers x threads registers at once: size them so that workers x threads is at
# least the registers in flight at the busiest moment, with room to spare, since a
# register's kept-alive connection stays with one worker. The default, 2 x 16, holds the
# 64 registers of the benchmark (benchmarks/charge.py) at a provider's 300 ms within 10 %
# of what 32 threads can do; with more registers than that in flight, raise the threads
# (the database connections grow with them: one per thread, see config/settings.py).
workers = settings.GUNICORN_WORKERS
threads = settings.GUNICORN_THREADS
# Each worker listens on a socket of its own and the kernel spreads new connections over
# them. On one shared socket, a worker whose threads are all busy still accepts, and one
# worker could end up holding most registers' kept-alive connections while the other's
# threads idle (measured: half the throughput at 64 registers).
reuse_port = True
# A worker that stops answering the arbiter altogether is restarted after this long; a
# thread waiting on a provider does not stop the worker answering it.
timeout = 120
# Longest request, plus a moment to write its answer.
graceful_timeout = int(max(gateway.longest_wait() for gateway in GATEWAYS.values())) + 10
accesslog = settings.GUNICORN_ACCESS_LOG
# gunicorn's control socket (worker counts, shutdown) would live in the service user's home,
# which production keeps read-only; systemd's signals are how the service is managed.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Refuse to start on a port another server holds, or on a configuration the system
    checks refuse (payments/checks.py: an insecure key, an emulator's key, a provider on
    loopback, outside a test deployment)."""
    from django.core.management import call_command

    for address in server.cfg.address:
        refuse_a_taken_port(address)
    call_command("check")
    metrics.start_afresh()


def refuse_a_taken_port(address: Any) -> None:
    """With `reuse_port` a second server binds a port in use without a word and takes a
    share of its connections, with a configuration of its own: the port is bound once
    without it first, which fails while anyone listens there."""
    if not isinstance(address, tuple):
        return  # a unix socket: gunicorn itself refuses one in use
    host, port = address[0], address[1]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(
                f"gunicorn: {host}:{port} is in use ({exc.strerror}): another server listens "
                "there; stop it or bind elsewhere"
            ) from None


def child_exit(server: object, worker: Any) -> None:
    """A worker's counts stay in the totals; its process-bound figures go with it."""
    metrics.worker_exited(worker.pid)
