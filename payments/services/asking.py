"""Provider lookups in parallel, their answers handed back to the one thread that writes.

A lookup spends its time waiting for the provider; a pool of threads waits for many at
once, and never touches the database. Each answer (or what the lookup raised, which is
that payment's to record) comes back to the caller's thread as it arrives.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Generic, TypeVar

from providers.base import GatewayResult, PaymentData

K = TypeVar("K")
Ask = Callable[[PaymentData, str], GatewayResult]
Answer = GatewayResult | Exception


class Askers(Generic[K]):
    """Lookups sent with `ask` as they are submitted; `answers` yields them as they come."""

    def __init__(self, ask: Ask, *, workers: int) -> None:
        self._ask = ask
        self._workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[Future, K] = {}

    def __enter__(self) -> "Askers[K]":
        self._pool = ThreadPoolExecutor(max_workers=self._workers)
        return self

    def submit(self, key: K, data: PaymentData, provider: str) -> None:
        assert self._pool is not None, "submit inside `with Askers(...)`"
        self._futures[self._pool.submit(_asked, self._ask, data, provider)] = key

    def answers(self) -> Iterator[tuple[K, Answer]]:
        """Every submitted lookup's answer (or what it raised), in the order they come."""
        for future in as_completed(self._futures):
            yield self._futures[future], future.result()

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _asked(ask: Ask, data: PaymentData, provider: str) -> Answer:
    try:
        return ask(data, provider)
    except Exception as exc:  # a lookup that raises: that payment's, recorded on it
        return exc
