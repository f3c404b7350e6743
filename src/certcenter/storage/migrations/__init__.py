"""Alembic migrations of the center's schema (``versions/``)."""
