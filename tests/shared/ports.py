"""A loopback port that refuses connections, held for as long as a test needs it.

A port picked by binding and releasing (`free_port()`) is free only at that instant: another
test or another session on the machine may start listening on it before the test connects, and
then "nothing listens there" is no longer true. A socket that is bound but not listening makes
the kernel refuse connections to its port (ECONNREFUSED on Linux), and as long as it is held no
one else can bind that port.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refused_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
