"""Ports for the servers the tests start: free, and out of the way of every other test.

Asking the kernel for port 0 and closing the socket hands back a port from the ephemeral
range, the same range every outgoing connection on the machine takes its local port from; in
the moment between picking it and the server binding it, a client in another test can take it
("Address already in use"). These ports come from below that range instead, each pytest-xdist
worker from a block of its own, so only another program listening there can collide, and
``ServerProcess`` and the browser harness move to another port if one does.
"""

from __future__ import annotations

import os
import random
import socket

LOW, HIGH = 20000, 32000  # below Linux's ephemeral range (32768-60999)
BLOCK = 1500


def _worker_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = LOW + (index * BLOCK) % (HIGH - LOW)
    return range(start, start + BLOCK)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, from this worker's own block."""
    block = _worker_block()
    for port in random.sample(block, len(block)):
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {block.start}-{block.stop - 1}")


def address_taken(log: str) -> bool:
    """Whether a server's output says its port was taken before it could bind it."""
    return "Address already in use" in log or "EADDRINUSE" in log
