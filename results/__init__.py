"""Run archive, analysis and reports.

- ``Archive``: the SQLite archive a run writes (``RUN_DIR/archive.sqlite``).
- ``load(run_dir)``: the archive as pandas DataFrames, for notebooks.
- ``cudarwin report`` / ``cudarwin export``: leaderboard, HTML report, best kernels, trajectories.
"""

from .archive import Archive
from .load import RunData, load
from .ranking import UNRANKED_FLAGS, is_ranked
from .records import LLMCallRecord, Note

__all__ = ["Archive", "LLMCallRecord", "Note", "RunData", "UNRANKED_FLAGS", "is_ranked", "load"]
