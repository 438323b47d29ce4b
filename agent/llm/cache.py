"""Where answered LLM calls are kept, keyed by ``ChatRequest.key()``.

The run's archive is the main store (see ``cudarwin.agent.archive_store``);
:class:`SqliteCallStore` is a standalone cache file that several runs can
share (``llm.shared_cache``), and :class:`MemoryCallStore` serves tests.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from cudarwin.agent.llm.request import ChatReply, LLMCall


class CallStore(Protocol):
    def get(self, key: str) -> ChatReply | None:
        """The cached reply for a request key, or None."""
        ...

    def put(self, call: LLMCall) -> None:
        """Record a call (successful or not); only replies are served back."""
        ...


class MemoryCallStore:
    def __init__(self) -> None:
        self.calls: list[LLMCall] = []
        self._replies: dict[str, ChatReply] = {}

    def get(self, key: str) -> ChatReply | None:
        return self._replies.get(key)

    def put(self, call: LLMCall) -> None:
        self.calls.append(call)  # cache hits too, like the archive
        if call.reply is not None:
            self._replies[call.key] = call.reply


class SqliteCallStore:
    """A cache file: one row per answered request."""

    def __init__(self, path: Path | str):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, reply TEXT)")
        self._db.commit()

    def get(self, key: str) -> ChatReply | None:
        with self._lock:
            row = self._db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return ChatReply.from_dict(json.loads(row[0])) if row else None

    def put(self, call: LLMCall) -> None:
        if call.reply is None or call.cached:
            return
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?)", (call.key, call.model, json.dumps(call.reply.to_dict()))
            )
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ChainStore:
    """Looks up stores in order; records into all of them."""

    def __init__(self, *stores: CallStore):
        self.stores = stores

    def get(self, key: str) -> ChatReply | None:
        for store in self.stores:
            reply = store.get(key)
            if reply is not None:
                return reply
        return None

    def put(self, call: LLMCall) -> None:
        for store in self.stores:
            store.put(call)
