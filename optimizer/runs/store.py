"""The run store: every solved scenario, kept in a SQL database through SQLAlchemy Core.

A store is a SQLite file (the default; a plain path) or any SQLAlchemy URL,
such as ``postgresql://user:password@host/db`` (driven by psycopg 3).  It has
three tables:

* ``meta``: ``key`` / ``value`` pairs, among them the ``schema_version``;
* ``runs``: one row per run (inputs hash, scenario definition, status,
  objective, bound, gap, costs, open sites, KPIs, timings, software version,
  timestamp); JSON columns hold the definition, costs, open sites and KPIs;
* ``run_flows``: the plan's flows (``run_id``, ``from``, ``to``, ``product``,
  ``quantity`` in units per period, plus any further flow fields as JSON);
* ``claims``: the inputs hashes a sweep is solving right now (claimant's token,
  pid, host, claim and heartbeat times), so that two sweeps started at once on
  one store solve each input once (see :meth:`RunStore.claim`).

Schema version 2 added ``runs.termination`` (why the solve stopped),
``runs.versions`` (the software versions in the cache key) and ``claims``; a
version-1 store is migrated in place when opened (its runs stay readable, with
no termination).  A store written by a newer optimizer is refused.

Each :meth:`RunStore.save` is one transaction: the run row and all its flow
rows become visible together or not at all.  SQLite files use write-ahead
logging, a busy timeout and ``BEGIN IMMEDIATE`` for writes, so several
processes (two sweeps at once) can write to one file without losing a run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Iterator
from urllib.parse import quote

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from optimizer.errors import InputError, OptimizerError, Problem

#: Version of the table layout written to ``meta``; bump when the tables change (and migrate).
SCHEMA_VERSION = 2
#: Oldest schema version that is migrated to :data:`SCHEMA_VERSION` when opened.
OLDEST_MIGRATED = 1
#: A claim whose heartbeat is older than this (seconds) is taken over by another sweep.
CLAIM_EXPIRY_SECONDS = 300.0
#: Value of the ``application`` key in ``meta`` marking a database as a run store.
APPLICATION = "warehouse-optimizer run store"
#: Seconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_SECONDS = 120.0
#: Flow fields stored as their own columns; any others go to the ``extra`` JSON column.
FLOW_FIELDS = ("from", "to", "product", "quantity")
#: Arbitrary constant identifying the schema-creation advisory lock on PostgreSQL.
_PG_SCHEMA_LOCK = 640_117_006


class StoreError(OptimizerError):
    """The run store could not be read or written."""


@dataclass
class RunRecord:
    """One run of one scenario, as stored.

    Attributes:
        sweep: Name of the sweep the scenario belongs to (``""`` for a single scenario).
        scenario: Scenario name, unique within its sweep.
        inputs_hash: SHA-256 hex digest of the run's full input (the cache key).
        definition: The scenario definition (JSON-serialisable: name, base, overrides, sweep).
        status: ``optimal``, ``feasible``, ``infeasible``, ``no_solution``, or ``error``.
        objective: Total cost of the plan, currency per period (``None`` without a plan).
        bound: Best proven lower bound, currency per period.
        gap: Relative gap (objective - bound) / |objective|.
        costs: Cost components, currency per period.
        open_sites: Ids of the sites open in the plan.
        flows: Flow rows (``from``, ``to``, ``product``, ``quantity`` in units per period, ...), or a
            table of them (stored in bulk; read back as rows).
        kpis: Service KPIs by name.
        build_seconds: Seconds spent building the model.
        solve_seconds: Seconds spent in the solver.
        software_version: The installed package version plus the source hash, e.g.
            ``0.1.0+src.1a2b3c4d5e6f`` (see :func:`optimizer.runs.cache.software_version`).
        error: What went wrong (status ``error``), or why there is no plan.
        termination: Why the solve stopped (``optimal``, ``gap_limit``, ``time_limit``, ``round_limit``,
            ``interrupted``, ``infeasible``, ``unbounded``, ``numerical``; ``None`` if unknown,
            e.g. runs stored before schema version 2 or runs that failed before solving).
        versions: The versions of the solvers and numeric libraries of the run (part of its
            cache key); empty for runs stored before schema version 2.
        created_at: When the run was stored (UTC); set by :meth:`RunStore.save`.
        run_id: Key of the run in its store; set by :meth:`RunStore.save`.
    """

    sweep: str
    scenario: str
    inputs_hash: str
    definition: dict[str, Any]
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    costs: dict[str, float] = field(default_factory=dict)
    open_sites: list[str] = field(default_factory=list)
    flows: list[dict[str, Any]] | pd.DataFrame = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    software_version: str = ""
    error: str | None = None
    termination: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    run_id: int | None = None


#: Columns of :meth:`RunStore.runs` (every RunRecord field but ``flows``).
RUN_COLUMNS = tuple(f.name for f in fields(RunRecord) if f.name != "flows")

_metadata = sa.MetaData()
_meta = sa.Table(
    "meta", _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
_runs = sa.Table(
    "runs", _metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sweep", sa.Text, nullable=False),
    sa.Column("scenario", sa.Text, nullable=False),
    sa.Column("inputs_hash", sa.String(128), nullable=False, index=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("objective", sa.Float),
    sa.Column("bound", sa.Float),
    sa.Column("gap", sa.Float),
    sa.Column("costs", sa.JSON, nullable=False),
    sa.Column("open_sites", sa.JSON, nullable=False),
    sa.Column("kpis", sa.JSON, nullable=False),
    sa.Column("build_seconds", sa.Float, nullable=False),
    sa.Column("solve_seconds", sa.Float, nullable=False),
    sa.Column("software_version", sa.String(64), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("termination", sa.String(32)),  # schema version 2
    sa.Column("versions", sa.JSON),  # schema version 2
    sa.Index("ix_runs_sweep_scenario", "sweep", "scenario"),
)
#: Columns added to ``runs`` by schema version 2, with their SQL types.
_V2_COLUMNS = ("termination", "versions")
_flows = sa.Table(
    "run_flows", _metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("from", sa.Text, nullable=False),
    sa.Column("to", sa.Text, nullable=False),
    sa.Column("product", sa.Text, nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("extra", sa.JSON),
)
_claims = sa.Table(
    "claims", _metadata,
    sa.Column("inputs_hash", sa.String(128), primary_key=True),
    sa.Column("sweep", sa.Text, nullable=False),
    sa.Column("scenario", sa.Text, nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Claimant:
    """Who claims runs: one sweep in one process.

    Attributes:
        token: Unique per sweep (two sweeps in one process are two claimants).
        pid: Process id of the sweep.
        host: Host name of the sweep's machine.
    """

    token: str
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)


def store_url(location: str | Path) -> URL:
    """The SQLAlchemy URL of a store location.

    Args:
        location: A plain file path (a SQLite file), ``sqlite:///path``,
            ``postgresql://...`` (driven by psycopg 3), or any other SQLAlchemy URL.

    Returns:
        The URL, with plain paths made absolute and ``postgresql`` mapped to ``postgresql+psycopg``.

    Raises:
        InputError: The location is not a valid URL.
    """
    text = str(location)
    if isinstance(location, Path) or "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except ArgumentError as error:
        raise InputError(Problem(text, f"not a valid store URL: {error}", field="--store")) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _finite(value: Any) -> float | None:
    """A float, or ``None`` for missing and non-finite values (JSON and SQL safe)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return _finite(value)
    return value


class RunStore:
    """A run store at a SQLite path or SQLAlchemy URL (see the module docstring).

    The tables are created on first use.  Opening a file or database that holds
    other tables but is not a run store is refused, so nothing else is ever
    written into.
    """

    def __init__(self, url: str | Path, read_only: bool = False) -> None:
        """Open (and if needed create) the store.

        Args:
            url: A plain path (SQLite file) or a SQLAlchemy URL.
            read_only: Only read (``compare``): nothing is created, migrated or switched to WAL, and a
                SQLite file is opened read-only, so a store in a read-only folder (an archive) can be
                read and a file that is not a store is left exactly as it was.

        Raises:
            InputError: The store cannot be opened or is not a run store; the URL is named
                (without its password).
        """
        self.url = store_url(url)
        plain = isinstance(url, Path) or "://" not in str(url)
        self.display = str(url) if plain else self.url.render_as_string(hide_password=True)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.read_only = read_only
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            parent = Path(self.url.database).parent
            if not parent.is_dir():
                reason = f"{parent} is a file, not a folder" if parent.exists() else f"folder {parent} does not exist"
                raise InputError(Problem(self.display, reason, field="--store"))
            if Path(self.url.database).is_dir():
                raise InputError(Problem(self.display, "is a folder, not a store file", field="--store"))
        deadline = time.monotonic() + SQLITE_BUSY_SECONDS
        pause = 0.05
        while True:
            try:
                self.engine = self._create_engine()
                self._ensure_schema()
                break
            except InputError:
                raise
            except (SQLAlchemyError, ImportError, OSError, ValueError) as error:
                # Two processes opening a new SQLite store at once: switching it to WAL can fail at once
                # with "database is locked", without waiting on the busy timeout; try again shortly.
                if self.is_sqlite and "locked" in _reason(error) and time.monotonic() < deadline:
                    if hasattr(self, "engine"):
                        self.engine.dispose()
                    time.sleep(pause)
                    pause = min(2 * pause, 1.0)
                    continue
                raise InputError(Problem(self.display, f"cannot open the run store: {_reason(error)}",
                                         field="--store")) from None

    def _create_engine(self) -> Engine:
        """The engine; SQLite connections get WAL, a busy timeout and explicit transactions (read-only: a
        read-only connection; a WAL file in a folder that cannot be written is read as immutable)."""
        if not self.is_sqlite:
            return sa.create_engine(self.url, pool_pre_ping=True)
        url = self.url
        if self.read_only and self.url.database not in (None, "", ":memory:"):
            target = "file:" + quote(str(self.url.database))
            url = URL.create("sqlite", database=f"{target}?mode=ro", query={"uri": "true"})
            try:
                with closing(sqlite3.connect(f"{target}?mode=ro", uri=True)) as probe:
                    probe.execute("SELECT count(*) FROM sqlite_master").close()
            except sqlite3.Error:  # a WAL store whose folder cannot be written: no shared-memory file can be made
                url = URL.create("sqlite", database=f"{target}?immutable=1", query={"uri": "true"})
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        read_only = self.read_only

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
            if not read_only:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get("store_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A connection in a transaction that writes (on SQLite it takes the write lock at once).

        The transaction commits when the block ends and rolls back if it raises.
        """
        with self.engine.connect() as conn:
            conn.execution_options(store_write=True)
            with conn.begin():
                yield conn

    def _ensure_schema(self) -> None:
        """Create the tables on first use, migrate an older schema, refuse a newer or foreign one."""
        with self.engine.connect() as probe:
            existing = set(sa.inspect(probe).get_table_names())
        if "meta" not in existing and self.read_only:
            raise InputError(Problem(self.display, "holds no runs (it is not a run store written by 'optimizer run')",
                                     field="STORE"))
        if "meta" not in existing:
            foreign = existing & {"runs", "run_flows", "claims"} if not self.is_sqlite else existing
            if foreign:
                raise InputError(Problem(self.display, "is not a run store (it holds other tables: "
                                         + ", ".join(sorted(foreign)) + "); refusing to write into it",
                                         field="--store"))
            with self._write() as conn:
                self._schema_lock(conn)
                _metadata.create_all(conn, checkfirst=True)
                present = {row.key for row in conn.execute(sa.select(_meta.c.key))}
                rows = [{"key": "schema_version", "value": str(SCHEMA_VERSION)},
                        {"key": "application", "value": APPLICATION}]
                missing = [r for r in rows if r["key"] not in present]
                if missing:
                    conn.execute(_meta.insert(), missing)
        meta = self._meta()
        if meta.get("application") != APPLICATION:
            raise InputError(Problem(self.display, "is not a run store (its meta table is not ours)", field="--store"))
        version = _version(meta)
        if version is not None and OLDEST_MIGRATED <= version < SCHEMA_VERSION and not self.read_only:
            self._migrate()
            version = _version(self._meta())
        if version != SCHEMA_VERSION:
            found = meta.get("schema_version")
            advice = ("it was written by a newer optimizer: upgrade warehouse-optimizer, or use another --store"
                      if version is not None and version > SCHEMA_VERSION else
                      "it is read here without changing it: migrate it first by running 'optimizer run' with it"
                      if self.read_only and version is not None and version >= OLDEST_MIGRATED else
                      "it cannot be migrated: use another --store (or a copy of this one made by a matching optimizer)")
            raise InputError(Problem(self.display, f"run store schema version {found}; this optimizer reads "
                                     f"version {SCHEMA_VERSION} (and migrates versions {OLDEST_MIGRATED} to "
                                     f"{SCHEMA_VERSION - 1}); {advice}", field="--store"))

    def _meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict."""
        with self.engine.connect() as conn:
            return {key: value for key, value in conn.execute(sa.select(_meta.c.key, _meta.c.value))}

    def _schema_lock(self, conn: Connection) -> None:
        """Serialise schema changes between processes (SQLite: the write transaction already does)."""
        if self.url.get_backend_name() == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK)))

    def _migrate(self) -> None:
        """Bring a version-1 store to :data:`SCHEMA_VERSION` in one transaction.

        Adds ``runs.termination`` and ``runs.versions`` (``NULL`` for the old runs) and the
        ``claims`` table, then records the new version.  Another process migrating at the same
        time waits for the lock and then finds the work done.
        """
        with self._write() as conn:
            self._schema_lock(conn)
            version = _version({k: v for k, v in conn.execute(sa.select(_meta.c.key, _meta.c.value))})
            if version is None or version >= SCHEMA_VERSION:
                return
            columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
            preparer = conn.dialect.identifier_preparer
            for name in _V2_COLUMNS:
                if name not in columns:
                    column = _runs.c[name]
                    kind = column.type.compile(dialect=conn.dialect)
                    conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {preparer.quote(name)} {kind}")
            _claims.create(conn, checkfirst=True)
            conn.execute(_meta.update().where(_meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------

    def save(self, record: RunRecord, claimant: Claimant | None = None) -> int:
        """Store ``record`` and its flows in one transaction.

        Sets ``record.run_id`` and ``record.created_at`` (UTC) on success.

        Args:
            record: The run.
            claimant: Release this claimant's claim on the run's inputs hash in the same
                transaction (the result and the end of the claim become visible together).

        Returns:
            The new run id.

        Raises:
            StoreError: The database refused the write; nothing of the run was stored.
        """
        created = datetime.now(timezone.utc)
        try:
            with self._write() as conn:
                run_id = _insert(conn, record, created)
                if claimant is not None:
                    conn.execute(_claims.delete().where(_claims.c.inputs_hash == record.inputs_hash,
                                                        _claims.c.owner == claimant.token))
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not store run '{record.scenario}': {_reason(error)}") from None
        record.run_id, record.created_at = run_id, created
        return run_id

    def save_copy(self, record: RunRecord, after: int) -> RunRecord:
        """Store ``record`` (a run reused under another name) unless another sweep just did.

        In one transaction that excludes other copiers of the same inputs hash: if a run of the
        same sweep, scenario and inputs hash with an id above ``after`` exists, that run is
        returned and nothing is written; otherwise ``record`` is saved as :meth:`save` does.
        Two sweeps started at once thus store one copy, not two.

        Args:
            record: The copy (its ``run_id`` is ``None``).
            after: Runs up to this id do not count (e.g. the run being copied).

        Returns:
            ``record`` with its new ``run_id``, or the stored run found instead.

        Raises:
            StoreError: The database refused the write; nothing of the run was stored.
        """
        created = datetime.now(timezone.utc)
        try:
            with self._write() as conn:
                if self.url.get_backend_name() == "postgresql":
                    lock = int(hashlib.sha256(record.inputs_hash.encode()).hexdigest()[:15], 16)
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
                existing = conn.execute(
                    sa.select(sa.func.max(_runs.c.run_id)).where(
                        _runs.c.inputs_hash == record.inputs_hash, _runs.c.sweep == record.sweep,
                        _runs.c.scenario == record.scenario, _runs.c.run_id > int(after))
                ).scalar_one()
                if existing is None:
                    run_id = _insert(conn, record, created)
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not store run '{record.scenario}': {_reason(error)}") from None
        if existing is not None:
            return self.get_run(int(existing))
        record.run_id, record.created_at = run_id, created
        return record

    # -- claims ----------------------------------------------------------------------------------

    def claim(self, inputs_hash: str, sweep: str, scenario: str, claimant: Claimant) -> bool:
        """Claim the run with ``inputs_hash`` for solving, unless another live sweep holds it.

        The claim is inserted in its own transaction (the hash is the key, so only one sweep
        can hold it).  A claim held by a dead sweep is taken over: one whose heartbeat is older
        than :data:`CLAIM_EXPIRY_SECONDS`, or whose process no longer runs on this host.

        Args:
            inputs_hash: The run's cache key.
            sweep: Sweep name (for the record).
            scenario: Scenario name (for the record).
            claimant: Who claims.

        Returns:
            True when ``claimant`` now holds the claim (also when it held it already).

        Raises:
            StoreError: The database refused the write.
        """
        now = datetime.now(timezone.utc)
        row = {"inputs_hash": inputs_hash, "sweep": sweep, "scenario": scenario, "owner": claimant.token,
               "pid": claimant.pid, "host": claimant.host, "claimed_at": now, "heartbeat_at": now}
        try:
            try:
                with self._write() as conn:
                    conn.execute(_claims.insert(), row)
                return True
            except IntegrityError:
                pass
            with self._write() as conn:
                held = conn.execute(sa.select(_claims).where(_claims.c.inputs_hash == inputs_hash)).mappings().first()
                if held is None:  # released meanwhile
                    conn.execute(_claims.insert(), row)
                    return True
                if held["owner"] == claimant.token:
                    return True
                if not _stale(held, now):
                    return False
                taken = conn.execute(_claims.update().where(_claims.c.inputs_hash == inputs_hash,
                                                            _claims.c.owner == held["owner"]).values(**row))
                return taken.rowcount == 1
        except IntegrityError:
            return False  # another sweep inserted it between our look and our write
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not claim run '{scenario}': {_reason(error)}") from None

    def release(self, claimant: Claimant, inputs_hashes: list[str] | None = None) -> None:
        """Drop ``claimant``'s claims (all of them, or those on ``inputs_hashes``)."""
        query = _claims.delete().where(_claims.c.owner == claimant.token)
        if inputs_hashes is not None:
            query = query.where(_claims.c.inputs_hash.in_(list(inputs_hashes)))
        try:
            with self._write() as conn:
                conn.execute(query)
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not release claims: {_reason(error)}") from None

    def heartbeat(self, claimant: Claimant) -> None:
        """Mark ``claimant``'s claims as still being worked on (call well within the expiry)."""
        try:
            with self._write() as conn:
                conn.execute(_claims.update().where(_claims.c.owner == claimant.token)
                             .values(heartbeat_at=datetime.now(timezone.utc)))
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not refresh claims: {_reason(error)}") from None

    def claims(self) -> pd.DataFrame:
        """The current claims (inputs hash, sweep, scenario, owner, pid, host, times)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(_claims)).mappings().all()
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not read claims: {_reason(error)}") from None
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in _claims.columns])

    # -- reading ---------------------------------------------------------------------------------

    def get(self, inputs_hash: str) -> RunRecord | None:
        """The latest stored run with ``inputs_hash`` (with its flows), or ``None``."""
        query = sa.select(_runs).where(_runs.c.inputs_hash == inputs_hash).order_by(_runs.c.run_id.desc()).limit(1)
        return self._one(query)

    def latest_run_ids(self, inputs_hashes: list[str]) -> dict[str, int]:
        """The latest run id of each of ``inputs_hashes`` that has a stored run."""
        if not inputs_hashes:
            return {}
        query = (sa.select(_runs.c.inputs_hash, sa.func.max(_runs.c.run_id))
                 .where(_runs.c.inputs_hash.in_(list(inputs_hashes))).group_by(_runs.c.inputs_hash))
        try:
            with self.engine.connect() as conn:
                return {digest: int(run_id) for digest, run_id in conn.execute(query)}
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not read runs: {_reason(error)}") from None

    def max_run_id(self) -> int:
        """The highest run id stored so far (0 for an empty store)."""
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.max(_runs.c.run_id))).scalar_one() or 0)
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not read runs: {_reason(error)}") from None

    def get_run(self, run_id: int) -> RunRecord:
        """The run with key ``run_id`` (with its flows).

        Raises:
            InputError: No such run.
        """
        record = self._one(sa.select(_runs).where(_runs.c.run_id == int(run_id)))
        if record is None:
            raise InputError(Problem(self.display, f"no run with id {run_id}", field="run_id"))
        return record

    def _one(self, query: sa.Select) -> RunRecord | None:
        """The first run selected by ``query``, flows included."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).mappings().first()
                if row is None:
                    return None
                flow_rows = conn.execute(
                    sa.select(_flows).where(_flows.c.run_id == row["run_id"])
                ).mappings().all()
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not read runs: {_reason(error)}") from None
        record = _record(row)
        record.flows = [_flow_dict(f) for f in flow_rows]
        return record

    def runs(self, sweep: str | None = None, scenarios: list[str] | None = None,
             latest_only: bool = True) -> pd.DataFrame:
        """Stored runs as a table, in the order they were stored.

        Args:
            sweep: Only runs of this sweep.
            scenarios: Only runs of these scenario names.
            latest_only: Keep only the latest run of each (sweep, scenario).

        Returns:
            One row per run with :data:`RUN_COLUMNS` (every RunRecord field but
            ``flows``; read those with :meth:`get_run` or :meth:`flows`).
        """
        query = sa.select(_runs)
        if sweep is not None:
            query = query.where(_runs.c.sweep == sweep)
        if scenarios is not None:
            query = query.where(_runs.c.scenario.in_(list(scenarios)))
        if latest_only:
            latest = sa.select(sa.func.max(_runs.c.run_id)).group_by(_runs.c.sweep, _runs.c.scenario)
            query = query.where(_runs.c.run_id.in_(latest.scalar_subquery()))
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(_runs.c.run_id)).mappings().all()
        except SQLAlchemyError as error:
            raise StoreError(f"{self.display}: could not read runs: {_reason(error)}") from None
        records = [_record(r) for r in rows]
        return pd.DataFrame([{c: getattr(r, c) for c in RUN_COLUMNS} for r in records], columns=list(RUN_COLUMNS))

    def flows(self, run_id: int) -> pd.DataFrame:
        """The flow table of one run (``from``, ``to``, ``product``, ``quantity`` and any extra fields)."""
        flows = self.get_run(run_id).flows
        return pd.DataFrame(flows) if flows else pd.DataFrame(columns=list(FLOW_FIELDS))

    def count(self) -> tuple[int, int]:
        """The number of stored runs and of stored flow rows."""
        with self.engine.connect() as conn:
            n_runs = conn.execute(sa.select(sa.func.count()).select_from(_runs)).scalar_one()
            n_flows = conn.execute(sa.select(sa.func.count()).select_from(_flows)).scalar_one()
        return int(n_runs), int(n_flows)


def _insert(conn: Connection, record: RunRecord, created: datetime) -> int:
    """Insert one run and its flows on ``conn`` (inside the caller's transaction); returns its id."""
    row = {
        "sweep": record.sweep, "scenario": record.scenario, "inputs_hash": record.inputs_hash,
        "definition": _json_safe(record.definition), "status": record.status,
        "objective": _finite(record.objective), "bound": _finite(record.bound), "gap": _finite(record.gap),
        "costs": _json_safe(dict(record.costs)), "open_sites": [str(s) for s in record.open_sites],
        "kpis": _json_safe(dict(record.kpis)), "build_seconds": float(record.build_seconds),
        "solve_seconds": float(record.solve_seconds), "software_version": record.software_version,
        "error": record.error, "created_at": created, "termination": record.termination,
        "versions": _json_safe(dict(record.versions)) or None,
    }
    run_id = int(conn.execute(_runs.insert().returning(_runs.c.run_id), row).scalar_one())
    if isinstance(record.flows, pd.DataFrame):
        _insert_table(conn, run_id, record.flows)
    elif record.flows:
        conn.execute(_flows.insert(), list(_flow_rows(run_id, record.flows)))
    return run_id


def _insert_table(conn: Connection, run_id: int, table: pd.DataFrame) -> None:
    """Insert a flow table: on SQLite, column by column into one executemany of plain tuples (``extra``
    as the JSON text sa.JSON writes); otherwise, or with values that need conversion, as rows."""
    extra = [c for c in table.columns if c not in FLOW_FIELDS]
    quantity = table["quantity"].to_numpy(dtype=float) if len(table) else None
    texts = _extra_texts(table, extra) if conn.dialect.name == "sqlite" and len(table) else None
    if texts is None or not np.isfinite(quantity).all():
        if len(table):
            conn.execute(_flows.insert(), list(_flow_rows(run_id, table.to_dict(orient="records"))))
        return
    conn.exec_driver_sql('INSERT INTO run_flows (run_id, "from", "to", product, quantity, extra) VALUES '
                         "(?, ?, ?, ?, ?, ?)", list(zip([run_id] * len(table), *(
                             table[c].astype(object).tolist() for c in ("from", "to", "product")),
                             quantity.tolist(), texts.tolist())))


def _extra_texts(table: pd.DataFrame, columns: list[str]) -> np.ndarray | None:
    """Each row's ``columns`` as ``json.dumps`` writes the dict, or None when a value is not text, an
    integer or a finite float (those rows take the general path)."""
    if not columns:
        return np.full(len(table), "null", dtype=object)
    text = np.full(len(table), "", dtype=object)
    for i, name in enumerate(columns):
        values = table[name].to_numpy()
        if values.dtype.kind == "f" and np.isfinite(values).all():
            cells = np.array(list(map(float.__repr__, values.tolist())), dtype=object)
        elif values.dtype.kind in "iu":
            cells = np.array(list(map(int.__repr__, values.tolist())), dtype=object)
        elif pd.api.types.infer_dtype(values, skipna=False) == "string":
            codes, uniques = pd.factorize(values)
            cells = np.array([encode_basestring_ascii(u) for u in uniques], dtype=object)[codes]
        else:
            return None
        text = text + (("{" if i == 0 else ", ") + encode_basestring_ascii(str(name)) + ": ") + cells
    return text + "}"


def _flow_rows(run_id: int, flows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows of ``run_flows`` for the executemany insert."""
    for flow in flows:
        extra = {k: v for k, v in flow.items() if k not in FLOW_FIELDS}
        yield {"run_id": run_id, "from": flow.get("from"), "to": flow.get("to"), "product": flow.get("product"),
               "quantity": _finite(flow.get("quantity")), "extra": _json_safe(extra) if extra else None}


def _flow_dict(row: Any) -> dict[str, Any]:
    """A stored flow row back as a flow dict."""
    flow = {"from": row["from"], "to": row["to"], "product": row["product"], "quantity": row["quantity"]}
    if row["extra"]:
        flow.update(row["extra"])
    return flow


def _record(row: Any) -> RunRecord:
    """A ``runs`` row as a RunRecord (without flows)."""
    created = row["created_at"]
    if created is not None and created.tzinfo is None:  # SQLite keeps no time zone; we stored UTC
        created = created.replace(tzinfo=timezone.utc)
    return RunRecord(
        sweep=row["sweep"], scenario=row["scenario"], inputs_hash=row["inputs_hash"],
        definition=_loads(row["definition"]), status=row["status"], objective=row["objective"],
        bound=row["bound"], gap=row["gap"], costs=_loads(row["costs"]), open_sites=list(_loads(row["open_sites"])),
        kpis=_loads(row["kpis"]), build_seconds=row["build_seconds"], solve_seconds=row["solve_seconds"],
        software_version=row["software_version"], error=row["error"], created_at=created, run_id=row["run_id"],
        termination=row["termination"], versions=_loads(row["versions"]) or {},
    )


def _version(meta: dict[str, str]) -> int | None:
    """The schema version recorded in ``meta`` (``None`` if missing or not a number)."""
    try:
        return int(meta["schema_version"])
    except (KeyError, ValueError):
        return None


def _stale(claim: Any, now: datetime) -> bool:
    """Whether a claim's sweep is gone: no heartbeat within the expiry, or its process ended (same host)."""
    beat = claim["heartbeat_at"]
    if beat.tzinfo is None:  # SQLite keeps no time zone; we stored UTC
        beat = beat.replace(tzinfo=timezone.utc)
    if now - beat > timedelta(seconds=CLAIM_EXPIRY_SECONDS):
        return True
    if claim["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(claim["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # someone else's live process
        return False
    return False


def _loads(value: Any) -> Any:
    """A JSON column value (drivers return it decoded; some return the text)."""
    return json.loads(value) if isinstance(value, str) else value


def _reason(error: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's background link."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
