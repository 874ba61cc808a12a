"""Shared fixtures: a throwaway PostgreSQL server and an empty store on each backend, for the run-store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from optimizer.runs.store import store_url
from pgserver import PgServer, unavailable_reason


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database on a private PostgreSQL server started for this test session.

    Skips (with the reason) only where no server can be started here.
    """
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    server = PgServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store location on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.db")
    pg = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(store_url(pg))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS run_flows, runs, meta, claims")
    engine.dispose()
    return pg
