"""The database: the engine and units of work (``database``), the tables (``models``), and the
Alembic migrations (``migrations/``, applied by ``migrate``). Nothing here knows of the
domain packages above it."""
