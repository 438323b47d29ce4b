"""The offline proposer: CUDA candidates generated from the reference itself,
with no LLM and no network.

The reference ``Model`` is traced with torch.fx on the meta device for every
task shape (``analyze``), turned into a small IR of elementwise values and
row reductions (``ir``, ``convert``, ``lowering``), checked on CPU by an
interpreter (``interpret``), and emitted as one fused CUDA kernel
(``codegen``, ``codegen_reduce``) inside a candidate file (``render``) whose
launch parameters are declared tunables (``tunables``). References it cannot
express get an honest :class:`NoProposal` naming the op.

Public entry points::

    propose_offline(task, policy="strict") -> Proposed | NoProposal
    OfflineProposer(seed=0, device="cuda")        # the Proposer protocol
    variants(candidate, n, seed=0) -> list[Candidate]
"""

from cudarwin.agent.offline.proposer import NoProposal, OfflineProposer, OfflineResult, Proposed, propose_offline
from cudarwin.agent.offline.tunables import variants

__all__ = ["NoProposal", "OfflineProposer", "OfflineResult", "Proposed", "propose_offline", "variants"]
