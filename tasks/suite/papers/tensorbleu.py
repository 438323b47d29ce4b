"""Per-sentence BLEU of token-id candidates against token-id references.

For n = 1..4, every n-gram of a candidate counts as matched at most as many
times as it occurs in the reference (clipped counts). The modified precision
is p_1 = matched / total for unigrams and (matched + 1) / (total + 1) for
n > 1 (add-one smoothing). BLEU = BP * exp(mean_n log p_n) with brevity
penalty BP = min(1, exp(1 - ref_len / cand_len)). cand: (batch, cand_len),
ref: (batch, ref_len) int64; the output is one float32 score per sentence.
TensorBLEU computes these counts for a whole batch on the GPU.
"""

import math

import torch
import torch.nn as nn

MAX_N = 4


def clipped_matches(cand: torch.Tensor, ref: torch.Tensor, n: int) -> torch.Tensor:
    """Per sentence: sum over distinct candidate n-grams of min(count in cand, count in ref)."""
    c = cand.unfold(1, n, 1)  # (batch, positions, n)
    r = ref.unfold(1, n, 1)
    count_in_cand = (c[:, :, None, :] == c[:, None, :, :]).all(-1).sum(-1)  # per position, >= 1
    count_in_ref = (c[:, :, None, :] == r[:, None, :, :]).all(-1).sum(-1)
    # an n-gram occurring count_in_cand times contributes min(...) once, spread over its copies
    return (torch.minimum(count_in_cand, count_in_ref).to(torch.float32) / count_in_cand).sum(-1)


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, cand: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        cand_len, ref_len = cand.shape[1], ref.shape[1]
        log_p = []
        for n in range(1, MAX_N + 1):
            matched = clipped_matches(cand, ref, n)
            total = cand_len - n + 1
            smooth = 0.0 if n == 1 else 1.0
            log_p.append(torch.log((matched + smooth) / (total + smooth)))
        brevity = min(0.0, 1.0 - ref_len / cand_len)
        return torch.exp(torch.stack(log_p).mean(dim=0) + brevity)


def get_inputs(batch, cand_len, ref_len, vocab):
    # candidates are noisy copies of the references, so higher-order n-grams match too
    base = torch.randint(0, vocab, (batch, max(cand_len, ref_len)))
    ref = base[:, :ref_len].clone()
    noise = torch.rand(batch, cand_len) < 0.3
    cand = torch.where(noise, torch.randint(0, vocab, (batch, cand_len)), base[:, :cand_len])
    return [cand, ref]


def get_init_inputs(batch, cand_len, ref_len, vocab):
    return []


def _comparisons(batch, cand_len, ref_len):
    return sum(batch * (cand_len - n + 1) * (cand_len + ref_len - 2 * n + 2) * n for n in range(1, MAX_N + 1))


SHAPES = [
    dict(batch=512, cand_len=500, ref_len=512, vocab=32000),
    dict(batch=33, cand_len=47, ref_len=51, vocab=1000),
    dict(batch=2, cand_len=6, ref_len=7, vocab=8),
]

META = dict(
    category="papers",
    source="TensorBLEU: Vectorized GPU-based BLEU Score Implementation for Per-Sentence In-Training Evaluation",
    flops=lambda batch, cand_len, ref_len, vocab: _comparisons(batch, cand_len, ref_len),
    bytes=lambda batch, cand_len, ref_len, vocab: 8 * batch * (cand_len + ref_len) + 4 * batch,
)
