"""Async Alembic environment: the URL comes from the app settings unless given."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from sqlalchemy.engine import Connection

from alembic import context
from app.config import get_settings
from app.db import create_engine
from app.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        settings = get_settings()
        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.resolved_database_url
    return str(url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(_url(), pool_size=1)
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Batch migrations rebuild SQLite tables (copy, drop, rename); with foreign keys
            # enforced, dropping a table that other rows reference fails. The pragma only
            # takes effect outside a transaction, so it goes first.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.run_sync(_configure)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
