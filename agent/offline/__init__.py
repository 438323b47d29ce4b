"""The offline proposer: CUDA candidates generated from the reference itself,
with no LLM and no network (the default proposer of ``cudarwin optimize``).

How it works: the reference ``Model`` is traced with torch.fx on the meta
device for every task shape (``analyze``, ``tracing``) and converted
(``convert`` with ``handlers_pointwise``/``handlers_reduce``, ``lowering``) into a
small IR (``ir``): elementwise values,
reductions over one contiguous range of dims, tensor operands with their
layout (contiguous, scalar, per-row, strided/broadcast), library calls kept in
torch under the ``torch-ok`` policy. An interpreter (``interpret``) evaluates
the IR with torch on CPU so the analysis is testable without a GPU. One fused
kernel is generated per plan (``codegen``: elementwise with 16-byte
vectorized loads, scalar tail and grid-stride loop; ``codegen_reduce``: row
reductions with warp-shuffle/shared-memory reductions and register-cached
rows, or column reductions) and written into a candidate file (``render``)
whose launch parameters are declared tunables (``tunables``).

What it handles: chains of elementwise ops and activations (any length,
broadcast operands, strided/sliced/split inputs, integer inputs converted to
float, ``torch.cat`` of equal pieces, triangular masks); sum/mean/max/min,
var/std, norms, softmax, log-softmax, logsumexp, layer/RMS/group/instance norm
along the last dims or a middle dim, with elementwise work before and after;
several outputs; per-row cross entropy; a second kernel when row results are
reduced again over other dims (the mean of per-row losses); elementwise
epilogues (and one more library op after them) around library
matmuls/convolutions under ``torch-ok``. Anything else gets an honest
:class:`NoProposal` naming the op ("no proposal: op cumsum not supported"):
float16/bfloat16 data, reductions of large tensors over all elements (one
block would do them), reductions over non-adjacent dims, gathers, scans,
sorting, pooling.

Public entry points::

    propose_offline(task, policy="strict") -> Proposed | NoProposal
    OfflineProposer(seed=0, device="cuda")        # the Proposer protocol
    variants(candidate, n, seed=0) -> list[Candidate]
    python -m cudarwin.agent.offline TASK.py [--policy torch-ok]
"""

from cudarwin.agent.offline.proposer import NoProposal, OfflineProposer, OfflineResult, Proposed, propose_offline
from cudarwin.agent.offline.tunables import variants

__all__ = ["NoProposal", "OfflineProposer", "OfflineResult", "Proposed", "propose_offline", "variants"]
