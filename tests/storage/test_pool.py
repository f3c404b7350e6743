"""Each process's PostgreSQL connection pool comes from the ``database_pool_*`` settings.

The defaults are the documented ones (docs/configuration.md#connection-pool); a center built
with other values gets exactly them; a pool whose connections are all taken makes the next
request wait ``database_pool_timeout_seconds`` and then fail, instead of opening more.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import exc, text
from sqlalchemy.pool import QueuePool

from certcenter.bootstrap import build_center, pool_options
from certcenter.config import load_settings
from certcenter.storage.database import PoolOptions, make_engine
from tests.conftest import make_settings


def test_the_defaults_are_the_documented_ones() -> None:
    settings = load_settings(environ={})
    assert pool_options(settings) == PoolOptions(
        size=5, max_overflow=10, timeout=30.0, recycle=1800, pre_ping=True
    )


def test_the_settings_reach_the_pool_and_are_checked() -> None:
    environ = {
        "CERTCENTER_DATABASE_POOL_SIZE": "3",
        "CERTCENTER_DATABASE_MAX_OVERFLOW": "2",
        "CERTCENTER_DATABASE_POOL_TIMEOUT_SECONDS": "4.5",
        "CERTCENTER_DATABASE_POOL_RECYCLE_SECONDS": "-1",
        "CERTCENTER_DATABASE_POOL_PRE_PING": "false",
    }
    options = pool_options(load_settings(environ=environ))
    assert options == PoolOptions(size=3, max_overflow=2, timeout=4.5, recycle=-1, pre_ping=False)
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/nowhere", pool=options)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle, pool._pre_ping) == (
        3,
        2,
        4.5,
        -1,
        False,
    )
    engine.dispose()
    for name, bad in (("POOL_SIZE", "0"), ("MAX_OVERFLOW", "-1"), ("POOL_TIMEOUT_SECONDS", "0")):
        with pytest.raises(ValueError, match="database_"):
            load_settings(environ={f"CERTCENTER_DATABASE_{name}": bad})


def test_a_full_pool_waits_then_refuses(
    postgres_database: str, tmp_path: Path, pki_dir: Path
) -> None:
    settings = make_settings(
        tmp_path,
        pki_dir,
        postgres_database,
        database_pool_size=2,
        database_max_overflow=1,
        database_pool_timeout_seconds=0.2,
    )
    center = build_center(settings)
    try:
        held = [center.engine.connect() for _ in range(3)]  # size + overflow
        for connection in held:
            assert connection.execute(text("select 1")).scalar() == 1
        with pytest.raises(exc.TimeoutError):
            center.engine.connect()
        held.pop().close()
        with center.engine.connect() as again:  # a returned connection is taken again
            assert again.execute(text("select 1")).scalar() == 1
        for connection in held:
            connection.close()
    finally:
        center.close()
