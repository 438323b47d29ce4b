"""The SQLite schema of a run archive, its version, and migrations.

One run folder holds one ``archive.sqlite``. The ``meta`` table records
``schema_version``; an archive written by an older cudarwin is migrated step by
step (``MIGRATIONS``), one written by a newer cudarwin is refused with a clear
message rather than misread.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from cudarwin.types import CudarwinError

ARCHIVE_NAME = "archive.sqlite"
SCHEMA_VERSION = 1

# Columns are named after the fields of cudarwin.types; JSON columns end in
# ``_json``. Times are Unix seconds (REAL), durations in ms or s as suffixed.
DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    name        TEXT PRIMARY KEY,
    task_id     TEXT NOT NULL,       -- content hash of the task file
    suite       TEXT NOT NULL,
    category    TEXT NOT NULL,
    source_ref  TEXT NOT NULL,       -- paper or model the task comes from
    path        TEXT NOT NULL,
    source      TEXT NOT NULL,
    shapes_json TEXT NOT NULL,
    added_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order
    task          TEXT NOT NULL,
    candidate_id  TEXT NOT NULL,
    source        TEXT NOT NULL,
    proposer      TEXT NOT NULL,
    model         TEXT NOT NULL,
    parents_json  TEXT NOT NULL,
    generation    INTEGER NOT NULL,
    island        INTEGER NOT NULL,
    tunables_json TEXT NOT NULL,
    note          TEXT NOT NULL,
    created_at    REAL NOT NULL,
    UNIQUE (task, candidate_id)
);
CREATE TABLE IF NOT EXISTS evaluations (
    eval_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task             TEXT NOT NULL,
    candidate_id     TEXT NOT NULL,
    status           TEXT NOT NULL,
    stage            TEXT,
    reason_codes     TEXT NOT NULL,   -- comma-separated Reason codes
    flag_codes       TEXT NOT NULL,   -- comma-separated Reason codes that did not reject
    policy           TEXT NOT NULL,
    device           TEXT NOT NULL,
    gpu              TEXT NOT NULL,
    driver           TEXT NOT NULL,
    torch_version    TEXT NOT NULL,
    cuda_version     TEXT NOT NULL,
    cudarwin_version TEXT NOT NULL,
    fitness          REAL NOT NULL,
    speedup_eager    REAL,
    speedup_compile  REAL,
    compile_s        REAL,
    eval_json        TEXT NOT NULL,   -- Evaluation.to_dict(), for an exact round trip
    created_at       REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_task ON evaluations (task, candidate_id);
CREATE TABLE IF NOT EXISTS shapes (
    eval_id             INTEGER NOT NULL REFERENCES evaluations (eval_id),
    task                TEXT NOT NULL,
    candidate_id        TEXT NOT NULL,
    shape_index         INTEGER NOT NULL,
    shape_json          TEXT NOT NULL,
    max_abs_err         REAL,
    max_rel_err         REAL,
    trials              INTEGER NOT NULL,
    candidate_ms        REAL,
    candidate_p20_ms    REAL,
    candidate_p80_ms    REAL,
    candidate_stderr_ms REAL,
    candidate_n         INTEGER,
    eager_ms            REAL,
    eager_p20_ms        REAL,
    eager_p80_ms        REAL,
    eager_stderr_ms     REAL,
    compile_ms          REAL,
    compile_p20_ms      REAL,
    compile_p80_ms      REAL,
    compile_stderr_ms   REAL,
    timing_method       TEXT,
    speedup_eager       REAL,
    speedup_compile     REAL,
    floor_ms            REAL,
    kernels_ran         TEXT NOT NULL,
    PRIMARY KEY (eval_id, shape_index)
);
CREATE TABLE IF NOT EXISTS llm_calls (
    call_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_hash      TEXT NOT NULL,
    model             TEXT NOT NULL,
    messages_json     TEXT NOT NULL,
    reply             TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    latency_s         REAL NOT NULL,
    cache_hit         INTEGER NOT NULL,
    task              TEXT NOT NULL,
    candidate_id      TEXT,
    conversation      TEXT NOT NULL,
    turn              INTEGER NOT NULL,
    strategy          TEXT NOT NULL,
    error             TEXT NOT NULL,
    created_at        REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_calls_hash ON llm_calls (request_hash);
CREATE TABLE IF NOT EXISTS notes (
    note_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    task       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

# MIGRATIONS[v] upgrades an archive from version v to v + 1, inside the
# caller's transaction. Add one entry whenever SCHEMA_VERSION is raised.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


def archive_path(run_dir: Path | str) -> Path:
    """The archive file of a run folder."""
    return Path(run_dir) / ARCHIVE_NAME


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table of the current version in an empty database."""
    # One statement at a time: executescript would commit the caller's transaction.
    for statement in DDL.split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )


def read_version(conn: sqlite3.Connection, path: Path) -> int:
    """The archive's schema version; CudarwinError if it is no cudarwin archive."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as err:
        raise CudarwinError(
            f"not a cudarwin archive ({err})", path=path, hint="pass a run folder written by `cudarwin optimize`"
        ) from err
    if row is None:
        raise CudarwinError("archive has no schema_version in its meta table", path=path)
    return int(row[0])


def check_version(version: int, path: Path) -> None:
    """Refuse archives this cudarwin cannot read or upgrade."""
    if version > SCHEMA_VERSION:
        raise CudarwinError(
            f"archive schema version {version} is newer than this cudarwin understands ({SCHEMA_VERSION})",
            path=path,
            hint="upgrade cudarwin to read it",
        )
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in MIGRATIONS]
    if missing:
        raise CudarwinError(
            f"archive schema version {version} is too old to migrate (no migration from version {missing[0]})",
            path=path,
            hint="read it with the cudarwin release that wrote it",
        )


def migrate(conn: sqlite3.Connection, version: int) -> int:
    """Upgrade the archive to SCHEMA_VERSION in one transaction; returns the new version."""
    if version == SCHEMA_VERSION:
        return version
    conn.execute("BEGIN IMMEDIATE")  # the connection is in autocommit mode
    try:
        for v in range(version, SCHEMA_VERSION):
            MIGRATIONS[v](conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return SCHEMA_VERSION
