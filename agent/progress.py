"""The progress view of ``cudarwin optimize``: a live table on a terminal,
one line per change otherwise (logs, CI)."""

from __future__ import annotations

import sys
import threading
from typing import Callable, TextIO

from cudarwin.agent.llm.budget import ModelUsage
from cudarwin.agent.search.context import TaskStats

UsageFn = Callable[[], ModelUsage | None]


def stats_line(s: TaskStats) -> str:
    best = f"{s.best_fitness:.3g}x" if s.best_fitness else "-"
    state = "done" if s.done else "running"
    if s.stopped:
        state += f" ({s.stopped})"
    return (
        f"{s.task}: best {best} | evaluated {s.evaluated} (accepted {s.accepted}, rejected {s.rejected}, "
        f"duplicates {s.duplicates}, no proposal {s.no_proposal}) | {state}"
    )


def usage_line(u: ModelUsage | None) -> str:
    if u is None:
        return "LLM: none (offline proposer)"
    return f"LLM: {u.calls} calls ({u.cached} cached, {u.failed} failed), {u.tokens} tokens, ${u.cost_usd:.4f}"


class ProgressView:
    """``mode``: "live", "plain", "off" or "auto" (live when ``out`` is a TTY)."""

    def __init__(self, mode: str = "auto", usage: UsageFn = lambda: None, out: TextIO | None = None):
        self.out = out or sys.stdout
        if mode == "auto":
            mode = "live" if self.out.isatty() else "plain"
        self.mode = mode
        self.usage = usage
        self.stats: dict[str, TaskStats] = {}
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()
        self._live = None

    def start(self, stats: list[TaskStats]) -> None:
        self.stats = {s.task: s for s in stats}
        if self.mode == "live":
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(file=self.out), refresh_per_second=4, transient=False)
            self._live.start()

    def update(self, stats: TaskStats) -> None:
        with self._lock:
            self.stats[stats.task] = stats
            if self.mode == "live" and self._live is not None:
                self._live.update(self._table())
            elif self.mode == "plain":
                line = stats_line(stats)
                if self._last.get(stats.task) != line:
                    self._last[stats.task] = line
                    print(line + " | " + usage_line(self.usage()), file=self.out, flush=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.stop()
            self._live = None

    def _table(self):
        from rich.table import Table

        table = Table(title="cudarwin optimize", caption=usage_line(self.usage()))
        for col in ("task", "best speedup", "evaluated", "accepted", "rejected", "duplicates", "state"):
            table.add_column(col, justify="left" if col in ("task", "state") else "right")
        for s in self.stats.values():
            state = "done" if s.done else "running"
            if s.stopped:
                state = f"stopped: {s.stopped}"
            best = f"{s.best_fitness:.3g}x" if s.best_fitness else "-"
            table.add_row(s.task, best, str(s.evaluated), str(s.accepted), str(s.rejected), str(s.duplicates), state)
        return table
