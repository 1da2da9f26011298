"""Alembic environment: runs on the connection the service hands over, or on DATABASE_URL."""

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from todo_api import tables  # noqa: F401  (registers every table on SQLModel.metadata)
from todo_api.core.config import Settings
from todo_api.core.database import create_engine, include_in_comparison

target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    engine = create_engine(Settings())
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    # `alembic revision --autogenerate` and friends, run by a developer.
    asyncio.run(run_from_settings())
