"""Shared fixtures: a throwaway PostgreSQL server for the run-store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
