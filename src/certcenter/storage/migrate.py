"""Schema migrations (Alembic) for the center's and the simulators' databases.

upgrade(engine)                 # the center's schema, to the newest revision
upgrade(engine, simulators=True)  # the simulators' own database
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_HERE = Path(__file__).parent


def alembic_config(simulators: bool = False) -> Config:
    config = Config()
    folder = "sim_migrations" if simulators else "migrations"
    config.set_main_option("script_location", str(_HERE / folder))
    return config


def upgrade(engine: Engine, *, simulators: bool = False) -> None:
    config = alembic_config(simulators)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine, *, simulators: bool = False) -> bool:
    """True when the database is at the newest revision."""
    script = ScriptDirectory.from_config(alembic_config(simulators))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())
