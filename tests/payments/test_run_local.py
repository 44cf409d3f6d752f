"""`make run`'s command really serves: gunicorn plus the CLICK emulator, over real HTTP.

The seed's flow end to end: charge, fiscal receipt, status. Runs on its own SQLite file,
whatever database the rest of the suite uses.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import (
    OTHER_URL,
    ROOT,
    closed_port,
    confirm_click_over_http,
    listening,
    local_run,
)


def status_of(base: str, answer: dict) -> dict:
    """GET /payment/status for the payment a register answer speaks of."""
    url = f"{base}/payment/status/{answer['data']['transaction_id']}"
    return requests.get(url, timeout=10).json()


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[str, subprocess.Popen, int]]:
    run = tmp_path_factory.getbasetemp()
    with local_run(run / "db.sqlite3", run / "run_local.out", workers=1, threads=4) as started:
        yield started


def test_the_seed_flow_over_real_http(service) -> None:
    base, _, _ = service
    charge = requests.post(
        f"{base}/payment/click", json={"amount": 500, "qr_code": "880101698207133392"}, timeout=10
    ).json()
    assert charge["is_success"] is True, charge
    assert charge["data"]["amount"] == 500

    confirm = confirm_click_over_http(
        base, charge["data"]["payment_id"], path="/payment/click_confirm/"
    )
    assert confirm["is_success"] is True, confirm

    status = status_of(base, charge)
    assert status["data"]["status"] == "paid"
    assert status["data"]["fiscal_status"] == "submitted"

    docs = requests.get(f"{base}/api/docs/", timeout=10)
    assert docs.status_code == 200
    css = requests.get(
        f"{base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css", timeout=10
    )
    assert css.status_code == 200


def test_the_payme_seed_flow_over_real_http(service) -> None:
    base, _, _ = service
    charge = requests.post(
        f"{base}/payment/payme", json={"amount": 500, "qr_code": "50501010793410803298"}, timeout=10
    ).json()
    assert charge["is_success"] is True, charge
    confirm = requests.post(
        f"{base}/payment/payme_confirm",
        json={
            "payme_id": charge["data"]["payment_id"],
            "receipt_id": "2904",
            "qr_code_url": OTHER_URL,
            "fiscal_sign": "113075569254",
        },
        timeout=10,
    ).json()
    assert confirm["is_success"] is True, confirm
    status = status_of(base, charge)
    assert (status["data"]["status"], status["data"]["fiscal_status"]) == ("paid", "submitted")


# A receipt of its own: one receipt is the receipt of one sale, and the other flows here
# use the seed's two.
UZUM_RECEIPT_URL = (
    "https://ofd.soliq.uz/check?t=UZ170703100597&r=3001&c=20230301101500&s=223344556677"
)


def test_the_uzum_flow_over_real_http(service) -> None:
    """The README's sale: its emulator started beside the others, the demo register's Uzum
    account signed with the key make run gave both sides."""
    base, _, _ = service
    code = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="
    charge = requests.post(
        f"{base}/payment/uzum", json={"amount": 500, "qr_code": code}, timeout=10
    ).json()
    assert charge["is_success"] is True, charge
    assert charge["data"]["payment_status"] == "SUCCESS"
    confirm = requests.post(
        f"{base}/payment/uzum_confirm",
        json={"payment_id": charge["data"]["payment_id"], "qr_code": UZUM_RECEIPT_URL},
        timeout=10,
    ).json()
    assert confirm["is_success"] is True, confirm
    status = status_of(base, charge)
    assert (status["data"]["provider"], status["data"]["status"]) == ("uzum", "paid")
    assert status["data"]["fiscal_status"] == "submitted"


def test_the_humo_flow_over_a_real_pty(service) -> None:
    base, _, _ = service
    purchase = requests.post(f"{base}/payment/xumo", json={"amount": 50000}, timeout=30).json()
    assert purchase["is_success"] is True, purchase
    assert "ОДОБРЕНО" in purchase["data"]["message"]
    cancel = requests.post(
        f"{base}/payment/xumo",
        json={"amount": 50000, "request_id": purchase["data"]["ppt_id"], "is_return": True},
        timeout=30,
    ).json()
    assert cancel["is_success"] is True, cancel
    status = status_of(base, purchase)
    assert status["data"]["status"] == "reversed"
    report = requests.get(f"{base}/payment/xumo_close", timeout=30).json()
    assert report["is_success"] is True, report
    assert "ИТОГО                       0.00 UZS" in report["data"]["message"]


def test_it_prints_a_working_operator_login_with_a_fresh_password(
    service, tmp_path_factory
) -> None:
    base, _, _ = service
    printed = (tmp_path_factory.getbasetemp() / "run_local.out").read_text()
    match = re.search(r"log in as operator with password (\S+)", printed)
    assert match, printed
    password = match.group(1)
    assert len(password) >= 12
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=10)
    answer = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": "operator",
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert answer.url.endswith("/admin/payments/payment/overview/")  # the first page
    assert "Payments" in answer.text


def test_it_prints_a_working_key_for_its_register(service, tmp_path_factory) -> None:
    base, _, _ = service
    printed = (tmp_path_factory.getbasetemp() / "run_local.out").read_text()
    match = re.search(r"key for other addresses: (rk_\S+)", printed)
    assert match, printed
    status = f"{base}/payment/status/00000000-0000-0000-0000-000000000000"

    def with_key(key: str) -> requests.Response:
        return requests.get(status, headers={"Authorization": f"Bearer {key}"}, timeout=10)

    assert with_key(match.group(1)).json()["error"]["code"] == 106  # served: no such payment
    assert with_key("rk_" + "x" * 43).status_code == 401


def test_no_secret_is_on_a_command_line(service) -> None:
    """Every user of the machine can read command lines (`ps`): the emulators get their
    keys through their environment."""
    _, _, emulator_port = service
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        ours = (
            f"emulators.click --port {emulator_port} ",
            f"emulators.payme --port {emulator_port + 1} ",
            f"emulators.uzum --port {emulator_port + 3} ",
        )
        if text.startswith(sys.executable) and any(mark in text for mark in ours):
            lines.append(text)
    assert len(lines) == 3, lines  # CLICK's, Payme's and Uzum's
    for text in lines:
        assert "EMULATOR_SECRET_KEY" not in text
        assert "EMULATOR_PAYME_KEY" not in text
        assert "EMULATOR_UZUM_SECRET_KEY" not in text
        assert "--key" not in text


def test_a_taken_port_is_a_clear_error_at_start(tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "run_local", "--port", str(closed_port()),
             "--emulator-base-port", str(port)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"port {port} for the CLICK emulator is taken" in result.stderr


def test_sigterm_stops_the_service_and_its_emulators(service) -> None:
    _, process, emulator_port = service
    emulator_ports = [emulator_port, emulator_port + 1, emulator_port + 3]
    pinpad_link = ROOT / ".run" / f"pinpad-{emulator_port + 2}"
    assert all(listening(port) for port in emulator_ports)
    assert pinpad_link.exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) is not None
    deadline = time.monotonic() + 10
    while any(listening(port) for port in emulator_ports) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(listening(port) for port in emulator_ports)
    while pinpad_link.is_symlink() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pinpad_link.is_symlink()  # the PIN-pad emulator is gone, and cleaned up
