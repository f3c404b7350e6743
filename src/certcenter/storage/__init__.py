"""Storage: the only package that speaks SQL.

``tables`` is the center's schema (created by the Alembic migrations in ``migrations/``),
``mapping`` maps the domain's entities onto it, ``repositories`` and ``uow`` implement the
Protocols of :mod:`certcenter.ports`. ``simulator_tables`` and ``simulator_store`` are the
embedded simulators' own database.
"""
