"""Whether the register whose request this thread serves is still connected.

gunicorn hands each request's socket to the application (`gunicorn.socket` in the WSGI
environment); a register that gave up and closed its side reads as end of file. Charging
asks just before a provider or the PIN pad would hear of a payment: a request that waited
behind busy threads while its register timed out must not take the money of a customer who
may have paid in cash meanwhile. Outside gunicorn (tests, commands) there is no socket, and
the caller counts as connected.
"""

import socket
import threading
from typing import Any

# gunicorn's threaded worker serves one request at a time per thread.
_current = threading.local()


def serving(connection: Any) -> None:
    """The request this thread now serves came over `connection` (None: not a socket)."""
    _current.connection = connection if isinstance(connection, socket.socket) else None


def caller_hung_up() -> bool:
    """True when the caller has closed its side (or reset it); False while it is connected,
    and whenever that cannot be told (no socket, TLS inside gunicorn)."""
    connection = getattr(_current, "connection", None)
    if connection is None:
        return False
    try:
        # A look at what waits to be read, taking nothing and waiting for nothing: end of
        # file is b""; a next request pipelined behind this one is data, still connected.
        waiting = connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False  # connected, and quiet
    except ConnectionError:
        return True  # reset
    except (OSError, ValueError):
        return False  # not a plain socket's question (an SSL socket refuses flags)
    return waiting == b""
