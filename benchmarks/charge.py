"""What a charge costs, side by side with the floor: the least a Django + DRF service must do
to take one (benchmarks/floor/), under the same gunicorn, PostgreSQL and provider.

Usage (PostgreSQL, as production):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/charge.py
Options: --rounds N (3) --charges N per round (200) --seconds S per throughput run (15)
         --registers N (64) --slow-ms MS (300) --quick

It makes a throw-away database next to DATABASE_URL's, migrates both services into it,
starts a CLICK emulator with a fixed latency on every answer, and runs, in rounds that
take turns between the two services:

- one register charging one code after another (provider 20 ms): the overhead over the
  provider's own time (p50/p90/p99), the CPU of the gunicorn workers and of PostgreSQL per
  charge, and how many database connections were opened per 100 charges;
- 64 registers at once (provider 300 ms) with gunicorn's default threads, and again with
  2 x 32 threads (bound by the 2 cores): charges per second, and the share of the bound
  that Little's law sets (threads in flight / provider time).

Then, with PostgreSQL's statement log on for the benchmark database only, a short run of
each service counts the statements and the commits that wrote, per charge, as the server
saw them. It prints one table with the ratios, and removes its database.
"""

import argparse
import functools
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FAST_MS = 20.0
EMULATOR_SECRET = "BENCHMARK_CLICK_SECRET"


@dataclass
class Figures:
    """What was measured of one service, over all rounds."""

    overhead_ms: list[float] = field(default_factory=list)
    worker_cpu_ms: list[float] = field(default_factory=list)
    database_cpu_ms: list[float] = field(default_factory=list)
    connections_per_100: list[float] = field(default_factory=list)
    throughput: list[float] = field(default_factory=list)  # default threads
    throughput_cpu_bound: list[float] = field(default_factory=list)  # 2 x 32 threads
    statements: float = 0.0
    writing_commits: float = 0.0
    bound: float = 0.0
    bound_cpu_bound: float = 0.0


@dataclass(frozen=True)
class Service:
    name: str
    wsgi: str
    env: dict[str, str]
    gunicorn_config: list[str]
    headers: dict[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--charges", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--registers", type=int, default=64)
    parser.add_argument("--slow-ms", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="1 round, 60 charges, 5 s runs")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.charges, args.seconds = 1, 60, 5.0

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL (the benchmark makes a database)")
    with benchmark_database(base_url) as database_url:
        migrate(database_url)
        key = register_key(database_url)
        with emulator(FAST_MS) as fast_url, emulator(args.slow_ms) as slow_url:
            results = run(args, database_url, key, fast_url, slow_url)
    report(results, args)


# --- the two services ----------------------------------------------------------------------


def services(database_url: str, key: str, provider_url: str) -> list[Service]:
    common = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        "ALLOW_TEST_DEPLOYMENT": "true",
        "GUNICORN_ACCESS_LOG": "-",
    }
    ours = {
        **common,
        "CLICK_BASE_URL": provider_url + "/v2/merchant/",
        "CLICK_SECRET_KEY": EMULATOR_SECRET,
    }
    floor = {
        **common,
        "DJANGO_SETTINGS_MODULE": "benchmarks.floor.settings",
        "FLOOR_PROVIDER_URL": provider_url + "/v2/merchant/click_pass/payment",
        "FLOOR_PROVIDER_SECRET": EMULATOR_SECRET,
    }
    return [
        Service(
            "this service",
            "config.wsgi:application",
            ours,
            ["-c", str(ROOT / "config" / "gunicorn.py")],
            {"Authorization": f"Bearer {key}"},
        ),
        Service(
            "the floor",
            "benchmarks.floor.wsgi:application",
            floor,
            # What config/gunicorn.py sets for the service, on the command line.
            ["--worker-class", "gthread", "--reuse-port", "--access-logfile", "-"],
            {},
        ),
    ]


@contextmanager
def serving(service: Service, workers: int, threads: int) -> Iterator[tuple[str, int]]:
    """The service under gunicorn: its URL and the master's pid."""
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", *service.gunicorn_config, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), service.wsgi]
    process = subprocess.Popen(
        command, cwd=ROOT, env=service.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(port, process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


_codes = iter(range(10**9))


def charge_once(session: requests.Session, url: str, headers: dict[str, str]) -> float:
    """One charge of a new code; its time in seconds."""
    body = {"amount": 500, "qr_code": f"77{next(_codes):012d}"}
    started = time.perf_counter()
    answer = session.post(f"{url}/payment/click", json=body, headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    if not answer.json().get("is_success"):
        raise SystemExit(f"a charge was not paid: {answer.text[:300]}")
    return elapsed


# --- the measurements ------------------------------------------------------------------------


def run(args: argparse.Namespace, database_url: str, key: str, fast: str, slow: str) -> dict:
    results = {name: Figures() for name in ("this service", "the floor")}
    for round_number in range(1, args.rounds + 1):
        for service in services(database_url, key, fast):
            print(f"round {round_number}: {service.name}, one register", file=sys.stderr)
            one_register(service, database_url, args.charges, results[service.name])
        for threads, attribute in ((None, "throughput"), (32, "throughput_cpu_bound")):
            for service in services(database_url, key, slow):
                figures = results[service.name]
                workers, threads_each = default_threads() if threads is None else (2, threads)
                label = f"{workers} x {threads_each}"
                print(
                    f"round {round_number}: {service.name}, {args.registers} registers, {label}",
                    file=sys.stderr,
                )
                rate = many_registers(service, workers, threads_each, args)
                getattr(figures, attribute).append(rate)
                in_flight = min(args.registers, workers * threads_each)
                bound = in_flight / (args.slow_ms / 1000)
                if threads is None:
                    figures.bound = bound
                else:
                    figures.bound_cpu_bound = bound
    for service in services(database_url, key, fast):
        statements, commits = counted_by_the_server(service, database_url)
        results[service.name].statements = statements
        results[service.name].writing_commits = commits
    return results


@functools.cache
def default_threads() -> tuple[int, int]:
    """gunicorn's workers and threads as config/gunicorn.py sets them by default."""
    printed = subprocess.run(
        [
            PYTHON,
            "-c",
            "import runpy; c = runpy.run_path('config/gunicorn.py'); "
            "print(c['workers'], c['threads'])",
        ],
        cwd=ROOT,
        env={**os.environ, "ALLOW_TEST_DEPLOYMENT": "true"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(printed[-2]), int(printed[-1])


def one_register(service: Service, database_url: str, charges: int, figures: Figures) -> None:
    workers, threads = default_threads()
    with serving(service, workers, threads) as (url, master):
        session = requests.Session()
        for _ in range(20):  # warm: imports, caches, connections
            charge_once(session, url, service.headers)
        sessions_before = database_sessions(database_url)
        workers_before, database_before = cpu_seconds(children_of(master)), database_cpu()
        times = [charge_once(session, url, service.headers) for _ in range(charges)]
        worker_cpu = cpu_seconds(children_of(master)) - workers_before
        database = database_cpu() - database_before
        opened = database_sessions(database_url) - sessions_before
    figures.overhead_ms += [(t * 1000) - FAST_MS for t in times]
    figures.worker_cpu_ms.append(worker_cpu * 1000 / charges)
    figures.database_cpu_ms.append(database * 1000 / charges)
    figures.connections_per_100.append(opened * 100 / charges)


def many_registers(service: Service, workers: int, threads: int, args: argparse.Namespace) -> float:
    """Charges per second with `args.registers` registers charging at once, each one code
    after another, for `args.seconds` (after a few seconds of warming)."""
    with serving(service, workers, threads) as (url, _):
        done = [0]
        lock = threading.Lock()
        counting = threading.Event()
        stop = threading.Event()

        def register() -> None:
            session = requests.Session()
            while not stop.is_set():
                charge_once(session, url, service.headers)
                if counting.is_set() and not stop.is_set():
                    with lock:
                        done[0] += 1

        with ThreadPoolExecutor(args.registers) as pool:
            futures = [pool.submit(register) for _ in range(args.registers)]
            time.sleep(3)
            counting.set()
            started = time.monotonic()
            time.sleep(args.seconds)
            stop.set()
            elapsed = time.monotonic() - started
            for future in futures:
                future.result()
    return done[0] / elapsed


def counted_by_the_server(service: Service, database_url: str) -> tuple[float, float]:
    """Statements (besides BEGIN and COMMIT) and commits that wrote, per charge, from
    PostgreSQL's own statement log for the benchmark database."""
    log = server_log(database_url)
    if log is None:
        return float("nan"), float("nan")
    name = database_name(database_url)
    charges = 50
    with admin(database_url) as conn:
        conn.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
    try:
        with serving(service, 1, 1) as (url, _):
            session = requests.Session()
            for _ in range(10):
                charge_once(session, url, service.headers)
            start = log.stat().st_size
            for _ in range(charges):
                charge_once(session, url, service.headers)
            time.sleep(0.5)
            with log.open("rb") as lines:
                lines.seek(start)
                text = lines.read().decode(errors="replace")
    finally:
        with admin(database_url) as conn:
            conn.execute(f'ALTER DATABASE "{name}" RESET log_statement')
    statements, commits = count_statements(text, name)
    return statements / charges, commits / charges


_LINE = re.compile(r"\[(\d+)\] \S*@(\S+) LOG:  (?:statement|execute [^:]*): (.*)")
# A write, or a WITH whose parts write (one statement, so one commit in autocommit).
_WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|WITH\b.*\b(INSERT|UPDATE|DELETE))\b", re.I | re.S)


def count_statements(text: str, database: str) -> tuple[int, int]:
    """Statements and commits that wrote, from log lines of one database. A write outside a
    transaction block is a commit of its own."""
    statements = commits = 0
    open_blocks: dict[str, bool] = {}  # backend pid -> whether its block wrote
    for line in text.splitlines():
        match = _LINE.search(line)
        if match is None or match.group(2) != database:
            continue
        pid, sql = match.group(1), match.group(3).strip()
        word = sql.split(None, 1)[0].upper() if sql else ""
        if word in ("BEGIN", "START"):
            open_blocks[pid] = False
        elif word in ("COMMIT", "END"):
            commits += open_blocks.pop(pid, False)
        elif word == "ROLLBACK":
            open_blocks.pop(pid, None)
        elif word in ("SAVEPOINT", "RELEASE"):
            continue
        else:
            statements += 1
            if _WRITES.match(sql):
                if pid in open_blocks:
                    open_blocks[pid] = True
                else:
                    commits += 1
    return statements, commits


# --- the report ----------------------------------------------------------------------------


def report(results: dict[str, Figures], args: argparse.Namespace) -> None:
    ours, floor = results["this service"], results["the floor"]
    rows: list[tuple[str, str, str, str]] = []

    def add(what: str, get: Callable[[Figures], float], fmt: str = "{:.1f}") -> None:
        a, b = get(ours), get(floor)
        ratio = f"{a / b:.2f}x" if b else "-"
        rows.append((what, fmt.format(a), fmt.format(b), ratio))

    for q in (50, 90, 99):
        add(f"overhead p{q}, one register (ms)", lambda f, q=q: percentile(f.overhead_ms, q))
    add("worker CPU per charge (ms)", lambda f: statistics.median(f.worker_cpu_ms))
    add("PostgreSQL CPU per charge (ms)", lambda f: statistics.median(f.database_cpu_ms))
    add(
        "worker + PostgreSQL CPU per charge (ms)",
        lambda f: statistics.median(f.worker_cpu_ms) + statistics.median(f.database_cpu_ms),
    )
    add("statements per charge (server side)", lambda f: f.statements)
    add("commits that wrote, per charge", lambda f: f.writing_commits)
    add("connections opened per 100 charges", lambda f: statistics.median(f.connections_per_100))
    workers, threads = default_threads()
    add(
        f"charges/s, {args.registers} registers, {args.slow_ms:.0f} ms, {workers}x{threads}",
        lambda f: statistics.median(f.throughput),
    )
    add("  share of the bound (%)", lambda f: 100 * statistics.median(f.throughput) / f.bound)
    add(
        f"charges/s, {args.registers} registers, {args.slow_ms:.0f} ms, 2x32 (CPU-bound)",
        lambda f: statistics.median(f.throughput_cpu_bound),
    )
    add(
        "  share of the bound (%)",
        lambda f: 100 * statistics.median(f.throughput_cpu_bound) / f.bound_cpu_bound,
    )

    print(
        f"rounds: {args.rounds}, {args.charges} charges per one-register run, "
        f"{args.seconds:.0f} s per throughput run, {os.cpu_count()} cores"
    )
    widths = [
        max(len(r[i]) for r in [*rows, ("measure", "this service", "the floor", "ratio")])
        for i in range(4)
    ]
    header = ("measure", "this service", "the floor", "ratio")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- processes, CPU, the database ----------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # the fields after the command name


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User and system CPU of the processes (with `reaped`, also of their ended children)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
            if reaped:
                total += int(fields[13]) + int(fields[14])
    return total / CLOCK_TICKS


def database_cpu() -> float:
    """CPU of every PostgreSQL process, and of the backends that have ended (the postmaster
    reaps them, and their time is added to its children's)."""
    postmaster = [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and _comm(int(e.name)) == "postgres" and _parent_is_not_postgres(e)
    ]
    processes = [pid for master in postmaster for pid in children_of(master)]
    return cpu_seconds(postmaster, reaped=True) + cpu_seconds(processes)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _parent_is_not_postgres(entry: Path) -> bool:
    fields = _stat(int(entry.name))
    return fields is not None and _comm(int(fields[1])) != "postgres"


@contextmanager
def admin(database_url: str) -> Iterator[psycopg.Connection]:
    parts = urlsplit(database_url)
    dsn = f"host={parts.hostname} port={parts.port or 5432} user={parts.username} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def database_sessions(database_url: str) -> int:
    with admin(database_url) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s",
            [database_name(database_url)],
        ).fetchone()
    return row[0]


def server_log(database_url: str) -> Path | None:
    """PostgreSQL's log file, where this machine's cluster writes it (Debian's layout)."""
    with admin(database_url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0][:2]
        current = conn.execute("SELECT pg_current_logfile()").fetchone()[0]
        data = conn.execute("SHOW data_directory").fetchone()[0]
    candidates = [Path(data) / current] if current else []
    candidates.append(Path(f"/var/log/postgresql/postgresql-{version}-main.log"))
    for path in candidates:
        if path.is_file() and os.access(path, os.R_OK):
            return path
    print("PostgreSQL's log cannot be read here: statements are not counted", file=sys.stderr)
    return None


@contextmanager
def benchmark_database(base_url: str) -> Iterator[str]:
    name = f"charge_benchmark_{uuid.uuid4().hex[:8]}"
    with admin(base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base_url)
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with admin(base_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "ALLOW_TEST_DEPLOYMENT": "true"}
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    floor = {
        **env,
        "DJANGO_SETTINGS_MODULE": "benchmarks.floor.settings",
        "FLOOR_PROVIDER_URL": "unused",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [PYTHON, "-m", "django", "migrate", "--noinput"],
        cwd=ROOT,
        env=floor,
        check=True,
        capture_output=True,
    )


def register_key(database_url: str) -> str:
    """A key of the first register (the migration made it, with its CLICK account)."""
    env = {**os.environ, "DATABASE_URL": database_url, "ALLOW_TEST_DEPLOYMENT": "true"}
    printed = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "register", "key", "issue", "Register 1"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.search(r"rk_\S+", printed).group(0)


@contextmanager
def emulator(latency_ms: float) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "emulators.click", "--port", str(port), "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        env={**os.environ, "CLICK_EMULATOR_SECRET_KEY": EMULATOR_SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[:4]} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


if __name__ == "__main__":
    main()
