"""The run archive: one SQLite file per run folder, written as the run goes.

Every ``add_*`` call is one transaction (or part of an enclosing ``batch()``),
so a run killed at any moment loses at most what was in flight and leaves a
readable archive. The database runs in WAL mode: reports and notebooks can
read while the search writes. One connection serves all threads of the
writing process behind one lock.

Typical use by a search loop::

    with Archive.create(run_dir, config_yaml) as arch:   # or Archive.open(run_dir) to resume
        arch.add_task(task)
        cid = arch.add_candidate(candidate, task=task.name, generation=3, model="gpt-x")
        if not arch.has_evaluation(task.name, cid):
            arch.add_evaluation(evaluator.evaluate(task, candidate))
        best = arch.best(task.name)        # (Candidate, Evaluation) or None
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from cudarwin import __version__
from cudarwin.types import Candidate, CudarwinError, Evaluation, Task

from . import rows, schema
from .ranking import is_ranked
from .records import LLMCallRecord, Note

if TYPE_CHECKING:
    import pandas

CONFIG_NAME = "config.yaml"


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    target = f"{path.resolve().as_uri()}?mode=ro" if readonly else str(path)
    # isolation_level=None: transactions are opened and closed explicitly below.
    conn = sqlite3.connect(target, uri=readonly, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit survives a power cut too; evaluations are rare enough that fsync is free.
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def _in_memory_copy(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A private in-memory copy, so a read-only reader can migrate an old archive."""
    copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.backup(copy)
    conn.close()
    return copy


class Archive:
    """The SQLite archive of one run folder. Use ``create`` or ``open``, not the constructor."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self._conn = conn
        self.path = path
        self.readonly = readonly
        self._lock = threading.RLock()
        self._depth = 0  # nesting of batch() in the thread holding the lock

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def create(cls, run_dir: Path | str, config_yaml: str = "") -> "Archive":
        """Start the archive of a new run in ``run_dir`` (created if missing).

        Also writes ``run_dir/config.yaml`` if the folder has none. Raises
        CudarwinError if the folder already holds an archive.
        """
        path = schema.archive_path(run_dir)
        if path.exists():
            raise CudarwinError(
                "this run folder already has an archive",
                path=path,
                hint="resume it with Archive.open or pick a new folder",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path, readonly=False)
        arch = cls(conn, path, readonly=False)
        with arch.batch():
            schema.create_schema(conn)
            arch._set_meta("created_at", repr(time.time()))
            arch._set_meta("cudarwin_version", __version__)
            arch._set_meta("config_yaml", config_yaml)
        config_file = path.parent / CONFIG_NAME
        if config_yaml and not config_file.exists():
            config_file.write_text(config_yaml)
        return arch

    @classmethod
    def open(cls, run_dir: Path | str, *, readonly: bool = False) -> "Archive":
        """Open the archive of an existing run folder (to resume, or ``readonly`` to read).

        An archive of an older schema is migrated (in place, or in a private
        in-memory copy when ``readonly``); a newer one raises CudarwinError.
        """
        run_dir = Path(run_dir)
        path = schema.archive_path(run_dir)
        if not run_dir.is_dir():
            raise CudarwinError("no such run folder", path=run_dir)
        if not path.is_file():
            raise CudarwinError(
                f"not a cudarwin run folder: no {schema.ARCHIVE_NAME}",
                path=run_dir,
                hint="pass the folder a `cudarwin optimize` run wrote",
            )
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(path, readonly)
            version = schema.read_version(conn, path)
            schema.check_version(version, path)
            if version < schema.SCHEMA_VERSION and readonly:
                conn = _in_memory_copy(conn)
            schema.migrate(conn, version)
        except BaseException as err:
            if conn is not None:
                conn.close()
            if isinstance(err, sqlite3.DatabaseError):
                raise CudarwinError(f"cannot read the archive ({err})", path=path) from err
            raise
        return cls(conn, path, readonly)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def run_dir(self) -> Path:
        return self.path.parent

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several writes into one transaction: all of them land, or none.

        Nested batches join the outermost one. Other threads wait until it ends.
        """
        if self.readonly:
            raise CudarwinError("archive opened read-only", path=self.path)
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    def _write(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        with self.batch():
            return self._conn.execute(sql, params)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def read_sql(self, sql: str, params: tuple[Any, ...] = ()) -> "pandas.DataFrame":
        """Run a read-only query and return a DataFrame (columns kept when empty)."""
        import pandas

        with self._lock:
            return pandas.read_sql_query(sql, self._conn, params=params)

    # ------------------------------------------------------------------ meta

    def _set_meta(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self) -> dict[str, str]:
        """The meta table: schema_version, created_at, cudarwin_version, config_yaml."""
        return {r["key"]: r["value"] for r in self._read("SELECT key, value FROM meta")}

    @property
    def config_yaml(self) -> str:
        return self.meta().get("config_yaml", "")

    # ------------------------------------------------------------------ tasks

    def add_task(self, task: Task) -> None:
        """Record a task. Adding it again (a resumed run) is a no-op; a changed file is an error."""
        with self.batch():
            known = self._read("SELECT task_id, path FROM tasks WHERE name = ?", (task.name,))
            if known:
                if known[0]["task_id"] != task.id:
                    raise CudarwinError(
                        f"task {task.name!r} changed since this run started (hash {known[0]['task_id']} -> {task.id})",
                        path=task.path,
                        hint="start a new run folder; its old results would not apply",
                    )
                return
            self._write(rows.TASK_INSERT, rows.task_row(task))

    # ------------------------------------------------------------------ candidates

    def add_candidate(
        self, candidate: Candidate, *, task: str, generation: int = 0, island: int = 0, model: str = ""
    ) -> str:
        """Record a candidate for ``task``; returns its id. A duplicate source keeps its first record."""
        self._write(rows.CANDIDATE_INSERT, rows.candidate_row(candidate, task, generation, island, model))
        return candidate.id

    def candidate(self, task: str, candidate_id: str) -> Candidate | None:
        """The candidate with this id for ``task``, or None."""
        found = self._read("SELECT * FROM candidates WHERE task = ? AND candidate_id = ?", (task, candidate_id))
        return rows.candidate_from_row(found[0]) if found else None

    def candidates(self, task: str) -> list[Candidate]:
        """Every candidate of ``task``, in the order they were added."""
        found = self._read("SELECT * FROM candidates WHERE task = ? ORDER BY seq", (task,))
        return [rows.candidate_from_row(r) for r in found]

    # ------------------------------------------------------------------ evaluations

    def add_evaluation(self, evaluation: Evaluation) -> int:
        """Record an evaluation with its per-shape rows, atomically; returns its row id."""
        with self.batch():
            cur = self._write(rows.EVALUATION_INSERT, rows.evaluation_row(evaluation))
            eval_id = int(cur.lastrowid or 0)
            for shape in evaluation.shapes:
                self._write(rows.SHAPE_INSERT, rows.shape_row(eval_id, evaluation, shape))
        return eval_id

    def has_evaluation(self, task: str, candidate_id: str) -> bool:
        """True if this candidate was already evaluated on ``task`` (so a resumed run skips it)."""
        found = self._read(
            "SELECT 1 FROM evaluations WHERE task = ? AND candidate_id = ? LIMIT 1", (task, candidate_id)
        )
        return bool(found)

    def evaluations(self, task: str) -> list[Evaluation]:
        """Every evaluation of ``task``, oldest first, rebuilt with ``Evaluation.from_dict``."""
        found = self._read("SELECT eval_json FROM evaluations WHERE task = ? ORDER BY eval_id", (task,))
        return [Evaluation.from_dict(json.loads(r["eval_json"])) for r in found]

    def best(self, task: str) -> tuple[Candidate, Evaluation] | None:
        """The accepted, rankable evaluation of highest fitness, with its candidate.

        Evaluations flagged BEYOND_ROOFLINE or REVIEW_FLAGGED are findings, not
        results, and are skipped (see ``ranking.UNRANKED_FLAGS``). Ties go to the
        earlier evaluation.
        """
        found = self._read(
            "SELECT e.eval_json, c.* FROM evaluations e JOIN candidates c "
            "ON c.task = e.task AND c.candidate_id = e.candidate_id "
            "WHERE e.task = ? AND e.status = 'accepted' ORDER BY e.fitness DESC, e.eval_id ASC",
            (task,),
        )
        for row in found:
            evaluation = Evaluation.from_dict(json.loads(row["eval_json"]))
            if is_ranked(evaluation):
                return rows.candidate_from_row(row), evaluation
        return None

    # ------------------------------------------------------------------ LLM calls

    def add_llm_call(self, record: LLMCallRecord) -> int:
        """Record one LLM request and its reply (cache hits too, marked ``cache_hit``)."""
        cur = self._write(rows.LLM_CALL_INSERT, rows.llm_call_row(record))
        return int(cur.lastrowid or 0)

    def link_llm_call(self, request_hash: str, candidate_id: str) -> None:
        """Name the candidate parsed from the latest call with this hash (when it was recorded before parsing)."""
        self._write(
            "UPDATE llm_calls SET candidate_id = ? WHERE call_id = "
            "(SELECT MAX(call_id) FROM llm_calls WHERE request_hash = ?)",
            (candidate_id, request_hash),
        )

    def cached_llm_reply(self, request_hash: str) -> LLMCallRecord | None:
        """The first successful reply recorded for this request, or None."""
        found = self._read(
            "SELECT * FROM llm_calls WHERE request_hash = ? AND error = '' ORDER BY call_id LIMIT 1", (request_hash,)
        )
        return rows.llm_call_from_row(found[0]) if found else None

    def llm_calls(self, task: str | None = None) -> list[LLMCallRecord]:
        """Every recorded LLM call (of one task, if given), oldest first."""
        if task is None:
            found = self._read("SELECT * FROM llm_calls ORDER BY call_id")
        else:
            found = self._read("SELECT * FROM llm_calls WHERE task = ? ORDER BY call_id", (task,))
        return [rows.llm_call_from_row(r) for r in found]

    # ------------------------------------------------------------------ notes

    def add_note(self, task: str, kind: str, message: str) -> None:
        """Record a remark about a task, e.g. ``("softmax", "no_proposal", "op X not supported")``."""
        self._write(
            "INSERT INTO notes (task, kind, message, created_at) VALUES (?, ?, ?, ?)",
            (task, kind, message, time.time()),
        )

    def notes(self, task: str | None = None) -> list[Note]:
        """Every note (of one task, if given), oldest first."""
        sql = "SELECT task, kind, message, created_at FROM notes"
        found = self._read(sql + " ORDER BY note_id") if task is None else self._read(
            sql + " WHERE task = ? ORDER BY note_id", (task,)
        )
        return [Note(**r) for r in found]
