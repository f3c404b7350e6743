"""Alembic environment: run with a connection handed in by :mod:`certcenter.storage.migrate`."""

from __future__ import annotations

from alembic import context

from certcenter.storage.simulator_tables import sim_metadata as target_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
