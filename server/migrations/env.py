"""Alembic environment: the URL comes from the caller's Config, never from a file in the repo."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from server.adapters import access_models, pg_blobs, sync_models, upload_models  # noqa: F401  (registers the tables)
from server.adapters.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
