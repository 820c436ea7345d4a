"""The SQLite state store: the embedded default behind the StateStore interface.

Operations: those of server.state.store.StateStore, on one SQLite file (or `:memory:`).

Plan: one connection, owned by one dedicated worker thread; every operation is a small
function submitted to that thread, so the event loop never waits on disk and operations
run one at a time in the order they were issued (no locking needed). WAL journal with
synchronous=NORMAL: a commit survives a process crash, and costs no fsync per write.
Tables are keyed the way a Redis implementation would key its hashes. Outcomes come in
batches (server.state.batching): one transaction per batch, one upsert per credential and
per (credential, model) of it; those written behind (`record_outcome_later`, the proxy's
request path) wait up to `WRITE_BEHIND_WINDOW` for their batch, the crash-loss window.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from server.state.batching import Batcher
from server.state.errors import StoreError
from server.state.store import (
    AUDIT_KEPT,
    AuditLine,
    Cooldown,
    CredentialHealth,
    StateStore,
    Usage,
)

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS health (
    credential TEXT PRIMARY KEY,
    successes INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at REAL,
    last_success_at REAL
);
CREATE TABLE IF NOT EXISTS usage (
    credential TEXT NOT NULL,
    model TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (credential, model)
);
CREATE TABLE IF NOT EXISTS cooldowns (
    credential TEXT NOT NULL,
    model TEXT NOT NULL,
    until REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (credential, model)
);
CREATE TABLE IF NOT EXISTS disabled (
    credential TEXT PRIMARY KEY,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flags (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_sessions (
    id TEXT PRIMARY KEY,
    until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    credential TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (credential, holder)
);
"""


def _check_state_file(path: str) -> None:
    """StoreError unless `path` is a regular file or can be created as one."""
    target = Path(path)
    if target.exists():
        if target.is_dir():
            raise StoreError(f"state file {path} is a directory")
        if not target.is_file():
            raise StoreError(f"state file {path} is not a regular file")
    elif not target.parent.is_dir():
        raise StoreError(f"state file {path}: the directory {target.parent} does not exist")


class SQLiteStore(StateStore):
    """State in one SQLite database, driven from a dedicated thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._outcomes: Batcher[_Outcome] = Batcher(self._write_outcomes)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    async def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._executor is None or self._db is None:
            raise StoreError("the state store is not open; await store.open() first")
        db = self._db
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: operation(db)
        )

    async def open(self) -> None:
        """Open the database in the worker thread and create the tables."""
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compatkit-store")
        try:
            self._db = await asyncio.get_running_loop().run_in_executor(executor, self._connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    def _connect(self) -> sqlite3.Connection:
        """The open database; StoreError naming the file if it cannot be the state file."""
        if self.path != ":memory:":
            _check_state_file(self.path)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                (verdict,) = db.execute("PRAGMA quick_check(1)").fetchone()
                if verdict != "ok":
                    raise StoreError(f"state file {self.path} is damaged: {verdict}")
            db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"state file {self.path} cannot be used: {exc}") from None
        except StoreError:
            db.close()
            raise
        return db

    async def close(self) -> None:
        """Finish queued operations, close the database and stop the thread."""
        if self._executor is None:
            return
        await self._outcomes.drain()
        executor, db = self._executor, self._db
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(executor, db.close)
        self._executor = None
        self._db = None
        executor.shutdown(wait=True)

    # --- health and usage ------------------------------------------------------------------

    async def record_outcome(
        self,
        credential: str,
        model: str,
        *,
        ok: bool,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        at: float,
    ) -> None:
        """Count one call in `health` and `usage`.

        Outcomes recorded while a write is pending join one batch: one transaction for
        many calls, so a busy proxy pays one thread hop per batch, not per call.
        """
        await self._outcomes.add(
            _Outcome(credential, model, ok, error, input_tokens, output_tokens, at)
        )

    def record_outcome_later(
        self,
        credential: str,
        model: str,
        *,
        ok: bool,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        at: float,
    ) -> None:
        """Count one call in `health` and `usage`, written behind (one transaction per
        window of calls)."""
        self._outcomes.add_later(
            _Outcome(credential, model, ok, error, input_tokens, output_tokens, at)
        )

    async def flush(self) -> None:
        """Write the outcomes queued by `record_outcome_later` now."""
        await self._outcomes.drain()

    async def _write_outcomes(self, batch: list[_Outcome]) -> None:
        await self._run(lambda db: _write_outcome_rows(db, batch))

    async def health(self) -> dict[str, CredentialHealth]:
        """Every row of `health`."""

        def read(db: sqlite3.Connection) -> dict[str, CredentialHealth]:
            rows = db.execute(
                "SELECT credential, successes, errors, last_error, last_error_at,"
                " last_success_at FROM health"
            ).fetchall()
            return {row[0]: CredentialHealth(*row) for row in rows}

        return await self._run(read)

    async def usage(self) -> list[Usage]:
        """Every row of `usage`, sorted."""

        def read(db: sqlite3.Connection) -> list[Usage]:
            rows = db.execute(
                "SELECT credential, model, requests, input_tokens, output_tokens FROM usage"
                " ORDER BY credential, model"
            ).fetchall()
            return [Usage(*row) for row in rows]

        return await self._run(read)

    # --- cooldowns -------------------------------------------------------------------------

    async def set_cooldown(
        self, credential: str, model: str, until: float, reason: str = ""
    ) -> None:
        """Upsert the cooldown of (credential, model)."""
        await self._run(
            lambda db: db.execute(
                "INSERT INTO cooldowns (credential, model, until, reason) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(credential, model) DO UPDATE SET until = excluded.until,"
                " reason = excluded.reason",
                (credential, model, until, reason),
            )
        )

    async def clear_cooldown(self, credential: str, model: str) -> None:
        """Delete the cooldown of (credential, model)."""
        await self._run(
            lambda db: db.execute(
                "DELETE FROM cooldowns WHERE credential = ? AND model = ?", (credential, model)
            )
        )

    async def cooldowns(self, now: float) -> list[Cooldown]:
        """Drop expired cooldowns, return the running ones."""

        def read(db: sqlite3.Connection) -> list[Cooldown]:
            with _transaction(db):
                db.execute("DELETE FROM cooldowns WHERE until <= ?", (now,))
                rows = db.execute(
                    "SELECT credential, model, until, reason FROM cooldowns"
                    " ORDER BY credential, model"
                ).fetchall()
            return [Cooldown(*row) for row in rows]

        return await self._run(read)

    # --- disabled credentials --------------------------------------------------------------

    async def disable(self, credential: str, reason: str) -> None:
        """Upsert the credential into `disabled`."""
        await self._run(
            lambda db: db.execute(
                "INSERT INTO disabled (credential, reason) VALUES (?, ?)"
                " ON CONFLICT(credential) DO UPDATE SET reason = excluded.reason",
                (credential, reason),
            )
        )

    async def enable(self, credential: str) -> None:
        """Delete the credential from `disabled`."""
        await self._run(
            lambda db: db.execute("DELETE FROM disabled WHERE credential = ?", (credential,))
        )

    async def disabled(self) -> dict[str, str]:
        """Every row of `disabled`."""
        return await self._run(
            lambda db: dict(db.execute("SELECT credential, reason FROM disabled").fetchall())
        )

    # --- flags -----------------------------------------------------------------------------

    async def get_flags(self) -> dict[str, bool]:
        """Every row of `flags`."""
        return await self._run(
            lambda db: {
                name: bool(value)
                for name, value in db.execute("SELECT name, value FROM flags").fetchall()
            }
        )

    async def set_flag(self, name: str, value: bool) -> None:
        """Upsert one flag."""
        await self._run(
            lambda db: db.execute(
                "INSERT INTO flags (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, int(value)),
            )
        )

    async def delete_flag(self, name: str) -> None:
        """Delete one flag."""
        await self._run(lambda db: db.execute("DELETE FROM flags WHERE name = ?", (name,)))

    # --- leases ----------------------------------------------------------------------------

    async def take_lease(
        self,
        candidates: Sequence[str],
        holder: str,
        *,
        now: float,
        ttl: float,
        limit: int | None = None,
    ) -> str | None:
        """Count live leases of the candidates and insert one, in one write transaction."""
        if not candidates:
            return None

        def take(db: sqlite3.Connection) -> str | None:
            with _transaction(db):
                live = _live_leases(db, now)
                best = min(candidates, key=lambda c: live.get(c, 0))
                if limit is not None and live.get(best, 0) >= limit:
                    return None
                db.execute(
                    "INSERT OR REPLACE INTO leases (credential, holder, expires) VALUES (?, ?, ?)",
                    (best, holder, now + ttl),
                )
                return best

        return await self._run(take)

    async def drop_lease(self, credential: str, holder: str) -> None:
        """Delete one lease."""
        await self._run(
            lambda db: db.execute(
                "DELETE FROM leases WHERE credential = ? AND holder = ?", (credential, holder)
            )
        )

    async def leases(self, now: float) -> dict[str, int]:
        """Drop expired leases, count the live ones."""

        def read(db: sqlite3.Connection) -> dict[str, int]:
            with _transaction(db):
                return _live_leases(db, now)

        return await self._run(read)

    # --- audit lines and revoked panel sessions ----------------------------------------------

    async def add_audit(self, line: AuditLine) -> None:
        """Append one line and drop those past the newest AUDIT_KEPT, in one transaction."""

        def add(db: sqlite3.Connection) -> None:
            with _transaction(db):
                cursor = db.execute(
                    "INSERT INTO audit (at, who, what) VALUES (?, ?, ?)",
                    (line.at, line.who, line.what),
                )
                db.execute(
                    "DELETE FROM audit WHERE seq <= ?", ((cursor.lastrowid or 0) - AUDIT_KEPT,)
                )

        await self._run(add)

    async def audit(self, limit: int = 50) -> list[AuditLine]:
        """The newest `limit` rows of `audit`, newest first."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT at, who, what FROM audit ORDER BY seq DESC LIMIT ?", (max(limit, 0),)
            ).fetchall()
        )
        return [AuditLine(*row) for row in rows]

    async def revoke_session(self, session_id: str, until: float) -> None:
        """Upsert the session into `revoked_sessions`."""
        await self._run(
            lambda db: db.execute(
                "INSERT INTO revoked_sessions (id, until) VALUES (?, ?)"
                " ON CONFLICT(id) DO UPDATE SET until = excluded.until",
                (session_id, until),
            )
        )

    async def session_revoked(self, session_id: str, now: float) -> bool:
        """Drop the revocations that ended, then look the session up."""

        def read(db: sqlite3.Connection) -> bool:
            with _transaction(db):
                db.execute("DELETE FROM revoked_sessions WHERE until <= ?", (now,))
                row = db.execute(
                    "SELECT 1 FROM revoked_sessions WHERE id = ?", (session_id,)
                ).fetchone()
            return row is not None

        return await self._run(read)


@dataclass(frozen=True, slots=True)
class _Outcome:
    credential: str
    model: str
    ok: bool
    error: str | None
    input_tokens: int
    output_tokens: int
    at: float


def _live_leases(db: sqlite3.Connection, now: float) -> dict[str, int]:
    """Delete the leases expired at `now`; live leases per credential (inside a transaction)."""
    db.execute("DELETE FROM leases WHERE expires <= ?", (now,))
    rows = db.execute("SELECT credential, COUNT(*) FROM leases GROUP BY credential").fetchall()
    return dict(rows)


@dataclass(slots=True)
class _HealthDelta:
    """What a batch adds to one credential's `health` row."""

    successes: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None


def _write_outcome_rows(db: sqlite3.Connection, batch: list[_Outcome]) -> None:
    """Add a batch of outcomes to `health` and `usage`: one upsert per credential and per
    (credential, model) of the batch, in one transaction (the last error and success win)."""
    health: dict[str, _HealthDelta] = {}
    usage: dict[tuple[str, str], list[int]] = {}  # requests, input tokens, output tokens
    for o in batch:
        h = health.setdefault(o.credential, _HealthDelta())
        if o.ok:
            h.successes += 1
            h.last_success_at = o.at
        else:
            h.errors += 1
            h.last_error, h.last_error_at = o.error, o.at
        u = usage.setdefault((o.credential, o.model), [0, 0, 0])
        u[0] += 1
        u[1] += o.input_tokens
        u[2] += o.output_tokens
    with _transaction(db):
        db.executemany(
            "INSERT INTO health (credential, successes, errors, last_error, last_error_at,"
            " last_success_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(credential) DO UPDATE SET"
            " successes = successes + excluded.successes, errors = errors + excluded.errors,"
            " last_error = CASE WHEN excluded.last_error_at IS NULL THEN last_error"
            " ELSE excluded.last_error END,"
            " last_error_at = COALESCE(excluded.last_error_at, last_error_at),"
            " last_success_at = COALESCE(excluded.last_success_at, last_success_at)",
            [(c, h.successes, h.errors, h.last_error, h.last_error_at, h.last_success_at)
             for c, h in health.items()],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO usage (credential, model, requests, input_tokens, output_tokens)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(credential, model) DO UPDATE SET"
            " requests = requests + excluded.requests,"
            " input_tokens = input_tokens + excluded.input_tokens,"
            " output_tokens = output_tokens + excluded.output_tokens",
            [(c, m, *u) for (c, m), u in usage.items()],
        )


class _transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error) on an autocommit connection.

    IMMEDIATE takes the write lock at once, so a read-then-write (a lease) is atomic even
    against another process on the same file.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
