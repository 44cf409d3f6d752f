"""The layers' rules (docs/architecture.md), checked on the source and on a running charge."""

import ast
import re
import sys
from pathlib import Path

import pytest

from providers import registry

ROOT = Path(__file__).resolve().parents[1]
# Every provider the registry knows: a new one is covered the day it is registered.
PROVIDER_NAMES = set(registry.GATEWAYS)
PROVIDER_CONSTANTS = {name.upper() for name in PROVIDER_NAMES}


def python_files(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def imports_of(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(ROOT)): imported_modules(p) for p in python_files(package)}


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path, modules in imports_of(package).items():
        bad = sorted(m for m in modules if m.split(".")[0] in forbidden)
        if bad:
            found[path] = bad
    return found


def test_providers_import_nothing_from_payments() -> None:
    assert offenders("providers", ("payments", "emulators", "config")) == {}


def test_pinpad_is_a_library_of_pyserial_alone() -> None:
    ours = ("django", "rest_framework", "payments", "providers", "emulators", "config")
    assert offenders("pinpad", ours) == {}
    third_party = {
        m.split(".")[0]
        for modules in imports_of("pinpad").values()
        for m in modules
        if m.split(".")[0] not in sys.stdlib_module_names
    }
    assert third_party <= {"serial", "pinpad"}


def test_emulators_speak_only_the_public_codecs() -> None:
    allowed_runtime = {"pinpad.messages", "pinpad.link", "pinpad.slips"}
    for path, modules in imports_of("emulators").items():
        runtime = {
            m for m in modules if m.split(".")[0] in ("payments", "providers", "pinpad", "config")
        }
        assert runtime <= allowed_runtime, path


def test_only_the_humo_gateway_speaks_to_the_pinpad_library() -> None:
    users = {
        path
        for package in ("payments", "providers", "config")
        for path, modules in imports_of(package).items()
        if any(m.split(".")[0] == "pinpad" for m in modules)
    }
    assert users == {"providers/humo/gateway.py"}


def test_the_runtime_never_imports_the_emulators() -> None:
    for package in ("payments", "providers", "pinpad", "config"):
        assert offenders(package, ("emulators",)) == {}


ENTRY_POINTS = ("payments.api", "payments.admin", "payments.management")
# What sits below the services: read by them, never reading them.
BELOW_SERVICES = ("payments.services", *ENTRY_POINTS)


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        # The entry points (registers' API, operators' back office, commands) call services
        # and never one another.
        ("payments/api", ("payments.admin", "payments.management")),
        ("payments/admin", ("payments.api", "payments.management")),
        ("payments/management", ("payments.api", "payments.admin")),
        ("payments/services", ENTRY_POINTS),
        # The one writer sits below the services, and tells what moved without knowing who
        # listens (the overview's tallies, through payments.signals).
        ("payments/store.py", BELOW_SERVICES),
        # The state machine is plain code: no database, nothing of ours but the gateways'
        # value types.
        ("payments/states.py", ("django", "payments", "rest_framework")),
        ("payments/selectors.py", BELOW_SERVICES),
        ("payments/models", ("payments.selectors", *BELOW_SERVICES)),
        # What every layer leans on (counting, the request's context, errors, receipts).
        ("payments/metrics.py", BELOW_SERVICES),
        ("payments/peer.py", ("payments", "providers")),
        ("payments/signals.py", ("payments", "providers")),
        ("payments/middleware.py", BELOW_SERVICES),
        ("payments/logformat.py", BELOW_SERVICES),
        ("payments/errors.py", ("payments.models", "payments.selectors", *BELOW_SERVICES)),
        ("payments/ofd.py", ("payments.models", "payments.selectors", *BELOW_SERVICES)),
        ("config/settings.py", ("payments", "providers", "pinpad")),
    ],
)
def test_arrows_point_down(lower: str, upper: tuple[str, ...]) -> None:
    paths = [ROOT / lower] if lower.endswith(".py") else list((ROOT / lower).rglob("*.py"))
    assert paths
    for path in paths:
        bad = [
            m for m in imported_modules(path) if any(m == u or m.startswith(u + ".") for u in upper)
        ]
        assert bad == [], path


def _names_a_provider(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in PROVIDER_NAMES


def test_outside_providers_no_code_branches_on_the_provider() -> None:
    """A provider's name appears in payments/ and config/ only where a register route is
    bound to it (`provider = "click"` on a view class): never in a comparison, a lookup
    table or a condition."""
    found = []
    for package in ("payments", "config"):
        for path in python_files(package):
            tree = ast.parse(path.read_text())
            bound = {
                id(node.value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["provider"]
                and path.name == "views.py"
            }
            for node in ast.walk(tree):
                if _names_a_provider(node) and id(node) not in bound:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if isinstance(node, ast.Attribute) and node.attr in PROVIDER_CONSTANTS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def documented_charge_files() -> tuple[list[str], list[str]]:
    """The files docs/architecture.md lists for one charge: the path (numbered), and what
    it leans on (bullets: who is calling, and the helpers of every step)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## One charge, file by file", 1)[1].split("\n## ", 1)[0]
    path_part, _, leans_part = section.partition("Who is calling")
    path = re.findall(r"^\d+\. `([\w/]+\.py)`", path_part, flags=re.M)
    leans = re.findall(r"^- `([\w/]+\.py)`", leans_part, flags=re.M)
    return path, leans


@pytest.mark.django_db
def test_a_click_charge_runs_through_the_documented_files(api, click) -> None:
    path, leans = documented_charge_files()
    assert 0 < len(path) <= 8
    api.post("/payment/click", {"amount": 500, "qr_code": "8801016982"}, format="json")
    ran: set[str] = set()

    def note(frame, event: str, arg: object) -> None:
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(str(ROOT)) and "/.venv/" not in name:
            relative = str(Path(name).relative_to(ROOT))
            if not relative.startswith("tests/"):
                ran.add(relative)

    sys.setprofile(note)
    try:
        answer = api.post("/payment/click", {"amount": 500, "qr_code": "8801016983"}, format="json")
    finally:
        sys.setprofile(None)
    assert answer.json()["is_success"] is True
    # Every file whose code ran is documented, and every documented file ran (the URL
    # table is read when the URLconf loads, not per request).
    assert ran == (set(path) | set(leans)) - {"payments/api/urls.py"}


def _service_calls(path: Path) -> list[tuple[str, ast.Call]]:
    """The calls a module makes into payments.services (by a name imported from it, or an
    attribute of a services module it imported), with the name called."""
    tree = ast.parse(path.read_text())
    functions, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("payments.services"):
            for alias in node.names:
                name = alias.asname or alias.name
                (modules if node.module == "payments.services" else functions).add(name)
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in functions:
            calls.append((func.id, node))
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in modules
        ):
            calls.append((f"{func.value.id}.{func.attr}", node))
    return calls


def _methods(path: Path) -> set[str]:
    return {
        item.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef)
    }


def _is_callback(node: ast.AST, methods: set[str]) -> bool:
    """A function handed over: a lambda, or a method of the caller's own object."""
    if isinstance(node, ast.Lambda):
        return True
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and node.attr in methods
    )


def test_views_pass_services_data_not_callbacks() -> None:
    """A view validates, calls one service with plain values and renders: it hands a
    service no function of its own, and no flag about transactions. The one service whose
    very job is to run the view's work once per key (idempotency.run_once) is the one that
    takes it."""
    views = ROOT / "payments" / "api" / "views.py"
    calls, methods = _service_calls(views), _methods(views)
    assert calls, "the views call services"
    handed = [
        name
        for name, call in calls
        if name != "idempotency.run_once"
        and any(
            _is_callback(arg, methods) for arg in [*call.args, *(k.value for k in call.keywords)]
        )
    ]
    flags = [
        (name, k.arg)
        for name, call in calls
        for k in call.keywords
        if k.arg and ("writes" in k.arg or "atomic" in k.arg or k.arg.startswith("on_"))
    ]
    assert (handed, flags) == ([], [])


# --- the one store -------------------------------------------------------------------------

WRITES = {"create", "bulk_create", "bulk_update", "update", "get_or_create", "update_or_create"}


def _writes_payments_by_orm(path: Path) -> list[int]:
    """Lines that write payments through the ORM's manager (`Payment.objects...`)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITES | {"delete", "save"}:
            continue
        chain = ast.unparse(node.func.value)
        if chain.startswith("Payment.objects"):
            lines.append(node.lineno)
    return lines


def test_the_store_is_the_one_writer_of_payments_in_the_source() -> None:
    """Nothing but payments/store.py creates, updates or deletes payments through the
    ORM, or sends the store's own statements (tests/one_writer.py watches every other way
    while the suite runs)."""
    found = {}
    for path in python_files("payments"):
        relative = str(path.relative_to(ROOT))
        if relative in ("payments/store.py", "payments/models/statements.py"):
            continue
        lines = _writes_payments_by_orm(path)
        sends = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "statements"
            and node.attr != "first"  # the register's key, read
        ]
        if lines or sends:
            found[relative] = lines + sends
    assert found == {}


@pytest.mark.django_db
def test_a_payment_written_outside_the_store_fails_the_test_that_wrote_it() -> None:
    """The guard every test runs under: code of `payments/` other than the store that
    saves or updates a payment is stopped, with its line."""
    from payments.models import Payment
    from tests.factories import make_payment
    from tests.one_writer import WrittenOutsideTheStore

    payment = make_payment(status="processing")
    rogue = compile(
        "def settle(payment):\n"
        "    Payment.objects.filter(pk=payment.pk).update(status='paid')\n"
        "def save(payment):\n"
        "    payment.save()\n",
        str(ROOT / "payments" / "services" / "rogue.py"),
        "exec",
    )
    module: dict = {"Payment": Payment}
    exec(rogue, module)
    with pytest.raises(WrittenOutsideTheStore, match="payments/services/rogue.py:2"):
        module["settle"](payment)
    with pytest.raises(WrittenOutsideTheStore, match="payments/services/rogue.py:4"):
        module["save"](payment)
    payment.refresh_from_db()
    assert payment.status == "processing"


def test_the_back_office_reads_no_stored_sentence() -> None:
    """Reasons and outcomes are stored as codes and said in the reader's language from a
    table (payments/admin/story.py, outcomes.py): no regular expression in the back office
    picks a stored sentence apart to translate it."""
    assert offenders("payments/admin", ("re", "regex")) == {}
