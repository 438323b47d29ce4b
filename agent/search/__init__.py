"""Search strategies (translate, repair, evolve, autotune) and what they share.

Pick one with ``search=<name>`` (``cudarwin/conf/search/<name>.yaml`` names
the class by ``_target_``); a new strategy is any class with
``async run(ctx: SearchContext) -> None``.
"""

from cudarwin.agent.search.autotune import Autotune
from cudarwin.agent.search.base import Strategy, make_strategy
from cudarwin.agent.search.context import SearchContext, TaskStats
from cudarwin.agent.search.evolve import Evolve
from cudarwin.agent.search.translate import Repair, Translate

__all__ = ["Autotune", "Evolve", "Repair", "SearchContext", "Strategy", "TaskStats", "Translate", "make_strategy"]
