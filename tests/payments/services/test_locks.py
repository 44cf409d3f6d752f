"""One run at a time per database: on SQLite, a lock file beside the database file, or,
for an in-memory database, one of the process that holds it."""

import multiprocessing
import threading

import pytest
from django.db import connection, connections

from payments.services.locks import only_one

pytestmark = pytest.mark.django_db


def _held_elsewhere(name: str, answer) -> None:
    with only_one(name) as held:
        answer.put(held)


def _in_a_thread(name: str) -> bool:
    """Whether another thread (another connection, as another run has) gets the lock."""
    seen: list[bool] = []

    def take() -> None:
        try:
            with only_one(name) as held:
                seen.append(held)
        finally:
            connections.close_all()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    return seen[0]


@pytest.mark.django_db(transaction=True)
def test_a_second_run_in_the_same_database_waits_its_turn() -> None:
    with only_one("reconcile") as first:
        assert first is True
        assert _in_a_thread("reconcile") is False
    assert _in_a_thread("reconcile") is True


def test_another_process_with_its_own_in_memory_database_is_not_kept_out() -> None:
    """Two test runs at once each have an in-memory database of the same name; a lock
    file named by that name alone made one's reconcile skip its run."""
    if connection.vendor != "sqlite" or "memory" not in str(connection.settings_dict["NAME"]):
        pytest.skip("an in-memory SQLite database only")
    answer = multiprocessing.get_context("fork").Queue()
    with only_one("reconcile") as held:
        assert held is True
        other = multiprocessing.get_context("fork").Process(
            target=_held_elsewhere, args=("reconcile", answer)
        )
        other.start()
        other.join(timeout=30)
    assert answer.get(timeout=5) is True
