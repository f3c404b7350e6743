"""Schema migrations (Alembic) for the center's and the simulators' databases.

upgrade(engine)                 # the center's schema, to the newest revision
upgrade(engine, simulators=True)  # the simulators' own database

Alembic (with Mako and Pygments behind it) is imported when a migration is run or checked,
not by every process that builds a center.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

_HERE = Path(__file__).parent


def alembic_config(simulators: bool = False) -> Config:
    from alembic.config import Config

    config = Config()
    folder = "sim_migrations" if simulators else "migrations"
    config.set_main_option("script_location", str(_HERE / folder))
    return config


def upgrade(engine: Engine, *, simulators: bool = False) -> None:
    from alembic import command

    config = alembic_config(simulators)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine, *, simulators: bool = False) -> bool:
    """True when the database is at the newest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(simulators))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())
