"""Provider lookups in parallel, their answers handed back to the one thread that writes.

A lookup spends its time waiting for the provider, and the rest in Python (building the
request, reading the answer), which runs one thread at a time per process. Threads are
enough while that rest is small beside the waiting; when it is not (thousands of lookups on
a small machine), one process is busy on one core and the others idle. `processes` above 1
splits the lookups among that many processes forked for the purpose, each with its share
of the threads: they ask and hand the answers back, and never touch the database.
"""

import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, Generic, TypeVar

from providers import http
from providers.base import GatewayResult, PaymentData

K = TypeVar("K")
Ask = Callable[[PaymentData, str], GatewayResult]
Answer = GatewayResult | Exception

# How long the writing side waits for an answer before it looks whether the processes
# asking are still there.
_PATIENCE_SECONDS = 1.0


class Askers(Generic[K]):
    """Lookups sent with `ask` as they are submitted; `answers` yields them as they come."""

    def __init__(self, ask: Ask, *, workers: int, processes: int = 1) -> None:
        self._ask = ask
        self._workers = max(1, workers)
        self._processes = max(1, min(processes, self._workers))
        self._keys: list[K] = []
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[Future, K] = {}
        self._children: list[multiprocessing.process.BaseProcess] = []
        self._told_the_end = False

    def __enter__(self) -> "Askers[K]":
        if self._processes == 1:
            self._pool = ThreadPoolExecutor(max_workers=self._workers)
            return self
        context = multiprocessing.get_context("fork")
        self._tasks = context.Queue()
        self._answers = context.Queue()
        shares = _shares(self._workers, self._processes)
        # Forked before this process starts any thread of its own for the lookups.
        for threads in shares:
            child = context.Process(
                target=_serve, args=(self._ask, self._tasks, self._answers, threads), daemon=True
            )
            child.start()
            self._children.append(child)
        self._threads_in_all = sum(shares)
        return self

    def submit(self, key: K, data: PaymentData, provider: str) -> None:
        if self._pool is not None:
            self._futures[self._pool.submit(_asked, self._ask, data, provider)] = key
            return
        self._tasks.put((len(self._keys), data, provider))
        self._keys.append(key)

    def answers(self) -> Iterator[tuple[K, Answer]]:
        """Every submitted lookup's answer (or what it raised), in the order they come."""
        if self._pool is not None:
            for future in as_completed(self._futures):
                yield self._futures[future], future.result()
            return
        self._no_more_tasks()
        waiting = set(range(len(self._keys)))
        ended = False  # every asking process has ended: only what they sent is left to read
        while waiting:
            try:
                number, answer = self._answers.get(timeout=0.1 if ended else _PATIENCE_SECONDS)
            except queue.Empty:
                if ended:
                    # Never answered: each one's outcome is unknown, said as an error on
                    # it, never guessed.
                    for number in sorted(waiting):
                        yield self._keys[number], RuntimeError("the lookup's process ended")
                    return
                ended = not any(child.is_alive() for child in self._children)
                continue
            waiting.discard(number)
            yield self._keys[number], answer

    def _no_more_tasks(self) -> None:
        if not self._told_the_end:
            self._told_the_end = True
            for _ in range(self._threads_in_all):
                self._tasks.put(None)  # each asking thread ends when it takes one

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        self._no_more_tasks()  # also when the writing side stopped early
        for child in self._children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()


def _asked(ask: Ask, data: PaymentData, provider: str) -> Answer:
    try:
        return ask(data, provider)
    except Exception as exc:  # a lookup that raises: that payment's, recorded on it
        return exc


def _serve(ask: Ask, tasks: Any, answers: Any, threads: int) -> None:
    """An asking process: `threads` threads take lookups until each takes the end."""
    http.forget_connections()  # the parent's pooled sockets are the parent's

    def work() -> None:
        while (task := tasks.get()) is not None:
            number, data, provider = task
            answers.put((number, _sendable(_asked(ask, data, provider))))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    answers.close()
    answers.join_thread()  # everything put is sent before the process ends


def _sendable(answer: Answer) -> Answer:
    """The answer as it can cross to the writing process: an exception that cannot be
    pickled (one holding a socket, say) goes as its type and message."""
    if isinstance(answer, Exception):
        try:
            pickle.dumps(answer)
        except Exception:
            return RuntimeError(f"{type(answer).__name__}: {answer}")
    return answer


def _shares(workers: int, processes: int) -> list[int]:
    """The threads of each process: `workers` in all, as evenly as they divide."""
    return [workers // processes + (1 if n < workers % processes else 0) for n in range(processes)]
