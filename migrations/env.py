"""Alembic environment: one connection, the URL from the caller or from ``DATABASE_URL``.

``common.migrate`` passes the URL in ``config.attributes["database_url"]``; the ``alembic``
command line reads ``DATABASE_URL`` from the environment (never an argument: it may hold
a password). Revisions describe the tables explicitly and never import the application's
models, so there is no ``target_metadata``: autogenerate is not used (it would also
propose to drop Rasa's own ``events`` table, which is not ours).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from common.db import make_engine

# Both processes may migrate a PostgreSQL database at once: the second waits here.
ADVISORY_LOCK = 0x6D696772  # "migr"

config = context.config
url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
if not url:
    raise SystemExit("DATABASE_URL n'est pas définie : indiquez l'adresse de la base de données.")
if config.config_file_name and not config.attributes.get("database_url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

engine = make_engine(url)
try:
    with engine.connect() as connection:
        backend = connection.dialect.name
        if backend == "sqlite":
            # SQLite rebuilds a table to alter it (batch mode): dropping the old copy must
            # neither check nor cascade the rows that point to it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, render_as_batch=True)
        with context.begin_transaction():
            if backend == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
            context.run_migrations()
finally:
    engine.dispose()
