"""Scratch databases for tests that need an empty database of their own.

On PostgreSQL a database is created beside the one named by
`CRM_TEST_DATABASE_URL` (the server's other databases are not touched) and
dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


def postgres_server_url() -> str | None:
    """Return `CRM_TEST_DATABASE_URL` as a psycopg 3 URL, or None when it is not PostgreSQL."""
    url = os.environ.get("CRM_TEST_DATABASE_URL")
    if not url or not url.startswith(("postgresql", "postgres://")):
        return None
    return "postgresql+psycopg://" + url.split("://", 1)[1]


@contextmanager
def scratch_postgres_database(prefix: str = "crm_val_scratch", options: str = ""
                              ) -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, and drop it.

    :param options: the rest of CREATE DATABASE (e.g. its collation).
    """
    server = postgres_server_url()
    assert server is not None, "CRM_TEST_DATABASE_URL is not a PostgreSQL URL"
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" {options}'))
        try:
            yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
