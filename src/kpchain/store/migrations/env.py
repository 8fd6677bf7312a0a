"""alembic environment: runs kpchain's migrations on the connection `kpchain.store.migrate`
passes in `config.attributes["connection"]` (or on `sqlalchemy.url` for the alembic CLI)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from kpchain.store.database import create_engine, import_models


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        # Every model, so that `alembic revision --autogenerate` sees every table; migrations
        # themselves never import models.
        target_metadata=import_models(),
        # SQLite can alter little in place: batch operations copy the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or call kpchain.store.migrate(engine)")
    engine = create_engine(url)
    try:
        with engine.connect() as own:
            _run(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("kpchain migrations run online only: use kpchain.store.migrate(engine)")
run_migrations_online()
