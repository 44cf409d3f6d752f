"""What the service counts for monitoring (Prometheus), and how a scrape reads it.

Three kinds of figures, each read where it is true:

- Counted by the process that did the work: payments by provider and outcome, the latency
  of every exchange with a provider or a PIN pad. Under gunicorn each worker counts in its
  own files in `METRICS_WORKERS_DIR` (prometheus-client's multiprocess mode) and a
  scrape adds the workers up; without it (a single process) they live in memory.
- Read from the database at scrape time, so that every instance reports the same truth and
  nothing is lost with a restart: open and unknown payments, payments flagged for a person,
  the fiscal backlog; and, from the services, the registers' accounts that cannot serve
  (a secret not set, a PIN pad not there).
- Written by the scheduled commands (reconcile, retry_fiscal) when they finish: a run is a
  process of its own, so its results go to a small text file in `METRICS_JOBS_DIR`, which
  a scrape includes (the last run of each command: when, how long, its exit code, what it
  changed).
"""

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    write_to_textfile,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import REGISTRY, Collector

from payments import selectors
from providers.base import Exchange

logger = logging.getLogger(__name__)

# Provider calls take from a few milliseconds to a PIN pad's three minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 180, 300)

PAYMENTS = Counter(
    "payments_operations",
    "Operations sent to a provider (charges, HUMO returns), by how they stood when the "
    "register was answered.",
    ["provider", "operation", "status"],
)
EXCHANGES = Histogram(
    "payments_provider_exchange_seconds",
    "Time of one exchange with a provider's API or a PIN pad (provider 'humo'), by its "
    "result: ok, error (an HTTP error or an unreadable answer) or no_answer.",
    ["provider", "operation", "result"],
    buckets=LATENCY_BUCKETS,
)


def count_operation(provider: str, operation: str, status: str) -> None:
    PAYMENTS.labels(provider, operation, status).inc()


def observe_exchanges(exchanges: Iterable[Exchange]) -> None:
    """Time the exchanges once they are journaled for good (a journal row rolled back with
    its transaction and written again is one exchange, timed once)."""
    done = list(exchanges)
    if done:
        transaction.on_commit(lambda: _observe(done))


def observe_unjournaled(exchanges: Iterable[Exchange]) -> None:
    """Exchanges that only reached the log (the database was gone): timed all the same."""
    _observe(list(exchanges))


def _observe(exchanges: list[Exchange]) -> None:
    for exchange in exchanges:
        if exchange.response_status is None:
            result = "no_answer"  # timeout, refused or reset connection, a silent line
        elif exchange.error or exchange.response_status >= 400:
            result = "error"  # an answer, but an HTTP error or one we could not read
        else:
            result = "ok"
        EXCHANGES.labels(exchange.provider, exchange.operation, result).observe(
            exchange.duration_ms / 1000
        )


# --- what the database says, at scrape time ---------------------------------------------


class DatabaseCollector(Collector):
    """Figures every instance reads the same: they are counted in the database."""

    def collect(self) -> Iterator[Metric]:
        open_ = GaugeMetricFamily(
            "payments_open",
            "Payments not yet final (created, processing, unknown), by provider and status.",
            labels=["provider", "status"],
        )
        for provider, status, count in selectors.open_counts():
            open_.add_metric([provider, status], count)
        yield open_
        flagged = GaugeMetricFamily(
            "payments_needing_attention",
            "Payments flagged for a person (reconcile or an operator could not settle them).",
            labels=["provider"],
        )
        for provider, count in selectors.flagged_counts():
            flagged.add_metric([provider], count)
        yield flagged
        backlog = GaugeMetricFamily(
            "payments_fiscal_backlog",
            "Paid payments whose fiscal receipt the provider does not have yet: waiting for "
            "the register's receipt (pending) or refused so far (failed).",
            labels=["provider", "fiscal_status"],
        )
        for provider, fiscal_status, count in selectors.fiscal_backlog_counts():
            backlog.add_metric([provider, fiscal_status], count)
        yield backlog


# --- what the scheduled commands left ---------------------------------------------------


@contextlib.contextmanager
def job_run(job: str) -> Iterator[dict[tuple[str, str, str], int]]:
    """Time a run of a scheduled command and leave its results for the scrape. The block
    fills the yielded mapping with what it changed ((provider, was, now) -> payments); the
    exit code is what the command ends with (0, 2 when payments need attention, 1 when it
    failed)."""
    changes: dict[tuple[str, str, str], int] = {}
    started = time.time()
    exit_code = 1
    try:
        yield changes
        exit_code = 0
    except SystemExit as exc:
        exit_code = exc.code if isinstance(exc.code, int) else 1
        raise
    except Exception as exc:
        exit_code = getattr(exc, "returncode", 1)
        raise
    finally:
        _write_job(job, started, exit_code, changes)


def _write_job(
    job: str, started: float, exit_code: int, changes: dict[tuple[str, str, str], int]
) -> None:
    directory = settings.METRICS_JOBS_DIR
    if not directory:
        return
    registry = CollectorRegistry()
    labels = ["job"]
    Gauge(
        "payments_job_last_run_timestamp_seconds",
        "When the last run of a scheduled command ended.",
        labels,
        registry=registry,
    ).labels(job).set(time.time())
    Gauge(
        "payments_job_last_run_duration_seconds",
        "How long the last run of a scheduled command took.",
        labels,
        registry=registry,
    ).labels(job).set(time.time() - started)
    Gauge(
        "payments_job_last_run_exit_code",
        "The exit code of the last run: 0 fine, 2 payments need attention, 1 it failed.",
        labels,
        registry=registry,
    ).labels(job).set(exit_code)
    changed = Gauge(
        "payments_job_last_run_changes",
        "Payments the last run changed, by provider and status before and after.",
        [*labels, "provider", "was", "now"],
        registry=registry,
    )
    for (provider, was, now), count in changes.items():
        changed.labels(job, provider, was, now).set(count)
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(Path(directory) / f"{job}.prom"), registry)
    except OSError:
        # Monitoring must never turn a run that did its work into a failed one.
        logger.exception("could not write the metrics of this %s run", job)


class JobsCollector(Collector):
    """The files the scheduled commands left (each written whole, then renamed)."""

    def collect(self) -> Iterator[Metric]:
        directory = settings.METRICS_JOBS_DIR
        if not directory or not Path(directory).is_dir():
            return
        families: dict[str, Metric] = {}
        for path in sorted(Path(directory).glob("*.prom")):
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                continue
            for family in text_string_to_metric_families(text):
                if family.name in families:
                    families[family.name].samples.extend(family.samples)
                else:
                    families[family.name] = family
        yield from families.values()


# --- the scrape ---------------------------------------------------------------------------


class _ThisProcess(Collector):
    """The default registry: this process's counters and its own figures (one process)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(*more: Collector) -> bytes:
    """Everything, in Prometheus' text format; `more` is what the caller reads besides
    (the registers' accounts, which only the services can judge)."""
    registry = CollectorRegistry()
    if settings.METRICS_WORKERS_DIR:
        multiprocess.MultiProcessCollector(registry, path=settings.METRICS_WORKERS_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    registry.register(JobsCollector())
    for collector in more:
        registry.register(collector)
    return generate_latest(registry)


def worker_exited(pid: int) -> None:
    """gunicorn's `child_exit`: the worker's live gauges go (its counters stay counted)."""
    if settings.METRICS_WORKERS_DIR:
        multiprocess.mark_process_dead(pid, settings.METRICS_WORKERS_DIR)


def start_afresh() -> None:
    """gunicorn's start: the counts of a previous run of the service are not this one's
    (Prometheus reads the drop as a counter reset)."""
    directory = settings.METRICS_WORKERS_DIR
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
