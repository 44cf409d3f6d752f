"""Whether this instance can serve: for a load balancer's and a monitor's probes."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, what each check found): the database answers and is migrated. Only what
    stops this instance serving anyone counts: one register's account or PIN pad that
    cannot serve is that register's problem (refused with 108 `misconfigured`, shown in the
    back office and in /metrics), and a load balancer must not take every instance out
    for one cable."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return False, checks
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    checks["migrations"] = "ok" if not pending else f"{len(pending)} not applied"
    return not pending, checks
