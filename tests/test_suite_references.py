"""The less obvious suite references agree with independent, naive formulas.

Each reference below is checked in float64 against a direct loop over the
definition stated in its docstring, so a mistake in the vectorized
reference (an index off by one, a wrong decay exponent) cannot hide.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from cudarwin.tasks import SUITE_DIR, import_task, load_task


def _module(relative: str):
    return import_task(load_task(SUITE_DIR / relative))


def _double(values: list) -> list:
    return [v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v for v in values]


def test_lightning_block_split_equals_decayed_linear_attention() -> None:
    mod = _module("papers/lightning_attention.py")
    torch.manual_seed(0)
    q, k, v, logit = _double(mod.get_inputs(b=2, h=3, n=150, d=8, e=5))  # 150: three blocks, the last partial
    out = mod.Model()(q, k, v, logit)
    lam = torch.sigmoid(logit)
    pos = torch.arange(150, dtype=torch.float64)
    lag = pos[:, None] - pos[None, :]
    decay = torch.where(lag >= 0, lam[:, None, None] ** lag.clamp(min=0), torch.zeros((), dtype=torch.float64))
    expected = ((q @ k.transpose(-1, -2)) * decay) @ v
    torch.testing.assert_close(out, expected, atol=1e-10, rtol=1e-10)


def _window_start(p: int, size: int, kernel: int) -> int:
    return min(max(p - kernel // 2, 0), size - kernel)


def test_neighborhood_attention_1d_matches_per_query_loop() -> None:
    mod = _module("papers/neighborhood_attention_1d.py")
    torch.manual_seed(1)
    length, kernel, d = 11, 5, 4
    q, k, v, rpb = _double(mod.get_inputs(b=1, h=2, length=length, d=d, kernel=kernel))
    out = mod.Model(kernel)(q, k, v, rpb)
    for head in range(2):
        for i in range(length):
            keys = range(_window_start(i, length, kernel), _window_start(i, length, kernel) + kernel)
            scores = torch.stack([q[0, head, i] @ k[0, head, j] / math.sqrt(d) + rpb[head, j - i + kernel - 1] for j in keys])
            expected = torch.softmax(scores, 0) @ torch.stack([v[0, head, j] for j in keys])
            torch.testing.assert_close(out[0, head, i], expected)


def test_neighborhood_attention_2d_matches_per_query_loop() -> None:
    mod = _module("papers/neighborhood_attention_2d.py")
    torch.manual_seed(2)
    height, width, kernel, d = 5, 7, 3, 4
    q, k, v, rpb = _double(mod.get_inputs(b=1, h=2, height=height, width=width, d=d, kernel=kernel))
    out = mod.Model(kernel)(q, k, v, rpb)
    for head in range(2):
        for y in range(height):
            for x in range(width):
                sy, sx = _window_start(y, height, kernel), _window_start(x, width, kernel)
                keys = [(a, c) for a in range(sy, sy + kernel) for c in range(sx, sx + kernel)]
                scores = torch.stack(
                    [q[0, head, y, x] @ k[0, head, a, c] / math.sqrt(d) + rpb[head, a - y + kernel - 1, c - x + kernel - 1] for a, c in keys]
                )
                expected = torch.softmax(scores, 0) @ torch.stack([v[0, head, a, c] for a, c in keys])
                torch.testing.assert_close(out[0, head, y, x], expected)


def test_fft_long_conv_equals_direct_causal_convolution() -> None:
    mod = _module("papers/fft_long_conv.py")
    torch.manual_seed(3)
    u, k, D = _double(mod.get_inputs(b=2, h=3, length=37))
    out = mod.Model()(u, k, D)
    expected = D[:, None] * u
    for t in range(37):
        for s in range(t + 1):
            expected[..., t] += k[:, t - s] * u[..., s]
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-12)


def test_marlin_unpacking_follows_the_documented_bit_layout() -> None:
    mod = _module("papers/marlin_int4_gemm.py")
    torch.manual_seed(4)
    x, qweight, scales = mod.get_inputs(m=2, k=16, n=3, group=8)
    out = mod.Model(8)(x.double(), qweight, scales.double())
    weight = torch.empty(16, 3, dtype=torch.float64)
    for row in range(16):
        for col in range(3):
            word = int(qweight[row // 8, col]) & 0xFFFFFFFF
            nibble = (word >> (4 * (row % 8))) & 0xF
            weight[row, col] = (nibble - 8) * float(scales[row // 8, col])
    torch.testing.assert_close(out, x.double() @ weight)


def test_nf4_dequantize_reads_high_nibble_first() -> None:
    mod = _module("quantized/nf4_dequantize.py")
    packed = torch.tensor([0x0F, 0x70] * 32, dtype=torch.uint8)  # 128 codes, two blocks of 64
    absmax = torch.tensor([2.0, 0.5])
    out = mod.Model(2, 64, 64)(packed, absmax).reshape(-1)
    assert out[:4].tolist() == [-2.0, 2.0, 0.0, -2.0]  # codes 0, 15, 7, 0 in block 0
    assert out[64:66].tolist() == [-0.5, 0.5]


def _naive_bleu(cand: list[int], ref: list[int]) -> float:
    log_p = 0.0
    for n in range(1, 5):
        c = Counter(tuple(cand[i : i + n]) for i in range(len(cand) - n + 1))
        r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
        matched = sum(min(count, r[gram]) for gram, count in c.items())
        smooth = 0 if n == 1 else 1
        log_p += math.log((matched + smooth) / (len(cand) - n + 1 + smooth))
    return math.exp(min(0.0, 1 - len(ref) / len(cand)) + log_p / 4)


def test_tensorbleu_matches_counter_based_bleu() -> None:
    mod = _module("papers/tensorbleu.py")
    torch.manual_seed(5)
    cand, ref = mod.get_inputs(batch=6, cand_len=9, ref_len=11, vocab=5)
    out = mod.Model()(cand, ref)
    expected = [_naive_bleu(c, r) for c, r in zip(cand.tolist(), ref.tolist())]
    torch.testing.assert_close(out.double(), torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=1e-6)


def test_log_bessel_matches_scipy_where_scipy_is_finite() -> None:
    special = pytest.importorskip("scipy.special")
    mod = _module("papers/log_bessel_iv.py")
    torch.manual_seed(6)
    v, x = _double(mod.get_inputs(n=5000))
    out = mod.Model()(v, x)
    expected = torch.from_numpy(special.ive(v.double().numpy(), x.numpy())).log() + x  # ive = I_v(x) e^-x
    finite = torch.isfinite(expected)
    assert finite.sum() > 1000
    torch.testing.assert_close(out[finite], expected[finite], atol=1e-6, rtol=1e-7)


def test_discounted_return_restarts_at_episode_ends() -> None:
    mod = _module("scan/discounted_return.py")
    rewards = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    dones = torch.tensor([[False, True, False, False]])
    out = mod.Model(0.5)(rewards, dones)
    torch.testing.assert_close(out, torch.tensor([[1.0 + 0.5 * 2.0, 2.0, 3.0 + 0.5 * 4.0, 4.0]]))


def test_block_sparse_attention_with_full_mask_is_causal_attention() -> None:
    sparse = _module("papers/block_sparse_attention.py")
    dense = _module("papers/flash_attention_causal.py")
    torch.manual_seed(7)
    q, k, v, mask = _double(sparse.get_inputs(b=1, h=2, s=10, d=8, block=4, density=0.5))
    full = torch.ones_like(mask)
    torch.testing.assert_close(sparse.Model(4)(q, k, v, full), dense.Model()(q, k, v))
    # an empty mask keeps only the diagonal blocks: row 5 (block 1) sees keys 4 and 5
    out = sparse.Model(4)(q, k, v, torch.zeros_like(mask))
    scores = q[0, 0, 5] @ k[0, 0, 4:6].t() / math.sqrt(8)
    # the reference takes its softmax in float32
    torch.testing.assert_close(out[0, 0, 5], torch.softmax(scores, 0) @ v[0, 0, 4:6], atol=1e-6, rtol=1e-6)
