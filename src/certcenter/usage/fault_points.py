"""Named points in a transfer where the crash tests stop the server (fault injection).

    reached("transfer.claimed")   # nothing happens, unless a test run asked to stop here

A test that must show what a crash at one point leaves behind starts the real server with
``CERTCENTER_TEST_PAUSE_AT=<point>`` (and ``CERTCENTER_TEST_PAUSE_MARK=<file>``): the request
that reaches the point writes the point's name to the file and waits there for ever, so the
test kills the process (``kill -9``) exactly at that point, restarts it without the variable
and looks at the money and the headroom. Without the variable — always, outside those tests;
never set it in production, where it is ignored — :func:`reached` does nothing.

Points: ``transfer.claimed`` (the day's headroom claimed and the transfer ``processing``, the
bank not asked yet), ``transfer.bank_answered`` (the bank moved the money, nothing recorded
yet), ``transfer.bank_refused`` (the bank refused, the headroom not given back yet).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

PAUSE_AT = "CERTCENTER_TEST_PAUSE_AT"
PAUSE_MARK = "CERTCENTER_TEST_PAUSE_MARK"
POINTS = frozenset({"transfer.claimed", "transfer.bank_answered", "transfer.bank_refused"})


def reached(point: str) -> None:
    """Stop here for good when a test run asked for ``point``; otherwise return at once."""
    if point not in POINTS or os.environ.get(PAUSE_AT) != point:
        return
    if os.environ.get("CERTCENTER_ENVIRONMENT", "demo") == "production":
        return
    mark = os.environ.get(PAUSE_MARK)
    if mark:
        Path(mark).write_text(point, encoding="utf-8")
    threading.Event().wait()  # until the process is killed
