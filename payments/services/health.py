"""Whether this instance can serve: for a load balancer's and a monitor's probes."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from payments.models import Register
from payments.services import accounts
from providers import registry


def readiness() -> tuple[bool, dict[str, object]]:
    """(ready, what each check found): the database answers and is migrated, and every
    active register's own equipment (its PIN pad's line) is there; the equipment that is
    not is named."""
    checks: dict[str, object] = {}
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
    lines: dict[str, str] = {}
    for register in Register.objects.filter(active=True).prefetch_related("accounts"):
        for row in register.accounts.all():
            gateway = registry.GATEWAYS[row.provider]
            try:
                problem = gateway.unreachable(gateway.account(accounts.account_values(row)))
            except (accounts.MissingSecret, ValueError, KeyError) as exc:
                problem = f"misconfigured: {exc}"
            if problem is not None:
                lines[f"{register.name}: {row.name}"] = problem
    checks["equipment"] = lines or "ok"
    ready = checks["migrations"] == "ok" and not lines
    return ready, checks
