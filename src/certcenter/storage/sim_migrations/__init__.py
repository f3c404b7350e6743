"""Alembic migrations of the simulators' own database (``versions/``)."""
