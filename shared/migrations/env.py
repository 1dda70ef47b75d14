"""Alembic's environment for every service's migrations.

``shared.schema`` hands over an open connection, inside the transaction that holds the
service's migration lock, on which the service's tables need no schema prefix; and the
service's tables, for autogenerate. There is no ``alembic.ini``: run the migrations
with `appeal db upgrade`, write a new one with `appeal db revision`.
"""

from alembic import context

from shared.schema import render_type

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("these migrations run through `appeal db upgrade`, which gives them their database")

context.configure(
    connection=connection,
    target_metadata=config.attributes.get("metadata"),
    # Every migration runs on SQLite too, where ALTER TABLE can do little: batch mode
    # copies the table instead, and plain ALTERs stay plain on PostgreSQL.
    render_as_batch=True,
    render_item=render_type,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
