"""The offline proposer's graph analysis, checked on CPU: each reference is
traced into a plan, and the plan, run by the IR interpreter, must agree with
the reference; unsupported references must be refused with a reason."""

from __future__ import annotations

import dataclasses
import inspect
import types

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cudarwin.agent.offline.analyze import analyze
from cudarwin.agent.offline.builder import Unsupported
from cudarwin.agent.offline.interpret import run_plan
from cudarwin.agent.offline.ir import Layout


def _module(model_cls, get_inputs, get_init_inputs=lambda **_: []) -> types.ModuleType:
    mod = types.ModuleType("offline_case")
    mod.Model, mod.get_inputs, mod.get_init_inputs = model_cls, get_inputs, get_init_inputs
    return mod


def _check(mod: types.ModuleType, shapes: list[dict], policy: str = "strict", atol: float = 1e-5):
    plan = analyze(mod, tuple(shapes), policy)
    names = list(inspect.signature(mod.Model.forward).parameters)[1:]
    for shape in shapes:
        torch.manual_seed(0)
        model = mod.Model(*mod.get_init_inputs(**shape))
        inputs = mod.get_inputs(**shape)
        with torch.no_grad():
            ref = model(*inputs)
        got = run_plan(plan, model, names, inputs)
        refs = ref if isinstance(ref, (tuple, list)) else [ref]
        gots = got if isinstance(got, (tuple, list)) else [got]
        assert len(refs) == len(gots)
        for r, g in zip(refs, gots):
            assert g.shape == r.shape, shape
            torch.testing.assert_close(g, r, atol=atol, rtol=1e-5, equal_nan=True)
    return plan


# ----------------------------------------------------------------- references


class Chain(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(c, 1, 1))

    def forward(self, x, scale: float):
        y = F.gelu(x * scale + self.bias).clamp(min=-0.5, max=0.7) - torch.sigmoid(x)
        return F.leaky_relu(y, 0.2) + F.softplus(x, beta=2.0) * F.elu(x) + F.hardswish(x) / F.mish(x).abs().add(1)


class Softmax(nn.Module):
    def forward(self, x):
        return torch.softmax(x, dim=-1)


class LogSoftmaxMid(nn.Module):
    def forward(self, x):
        return F.log_softmax(x, dim=1)


class LayerNorm3d(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)

    def forward(self, x):
        return self.ln(x).relu()


class RMS(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w


class Stats(nn.Module):
    def forward(self, x):
        return torch.logsumexp(x, dim=-1) + x.var(dim=-1) - x.amax(-1) + x.norm(dim=-1)


class MaxCols(nn.Module):
    def forward(self, x):
        return torch.max(x, dim=0).values


class InstanceNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n = nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        return self.n(x)


class Residual(nn.Module):
    def forward(self, x, r):
        h = x + r
        return h, h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)


class Modulate(nn.Module):
    def forward(self, x, shift, scale):
        normed = F.layer_norm(x, (x.shape[-1],), eps=1e-6)
        return normed * (1 + scale[:, None, :]) + shift[:, None, :]


class Transposed(nn.Module):
    def forward(self, x):
        return torch.tanh(x.t()) * 2.0


class Flatten(nn.Module):
    def forward(self, x):
        return torch.relu(x).view(x.size(0), -1)


class SplitGate(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self.bias = nn.Parameter(torch.randn(2 * d))

    def forward(self, x):
        a, g = (x + self.bias).split(self.d, dim=-1)
        return F.silu(a) * g


class LinearGelu(nn.Module):
    def __init__(self, k, n):
        super().__init__()
        self.lin = nn.Linear(k, n)

    def forward(self, x):
        return F.gelu(self.lin(x), approximate="tanh") * 0.5


class CausalSoftmax(nn.Module):
    def forward(self, scores, scale: float):
        s = scores.shape[-1]
        future = torch.triu(torch.ones(s, s, dtype=torch.bool, device=scores.device), diagonal=1)
        return torch.softmax((scores * scale).masked_fill(future, float("-inf")), dim=-1)


class TrilColumns(nn.Module):
    def forward(self, x):
        return torch.tril(x, diagonal=-1).sum(dim=1) + torch.triu(x).amax(dim=1)


class TriuElementwise(nn.Module):
    def forward(self, x):
        return torch.triu(x * 2, diagonal=2) + 1


class Argmax(nn.Module):
    def forward(self, x):
        return torch.argmax(x, dim=1)


class FullSum(nn.Module):
    def forward(self, x):
        return x / x.sum()


class Dropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(x) + 1


class RowLossMean(nn.Module):
    def forward(self, a, b):
        d = torch.sqrt(((a - b) ** 2).sum(dim=-1))
        return torch.relu(d - 1.0).mean() * 2.0


class InPlace(nn.Module):
    def forward(self, x):
        y = x * 2
        y += 1
        y *= x
        return y.relu_().add_(0.5)


class ProdRows(nn.Module):
    def forward(self, x):
        return torch.prod(x, dim=1)


class Losses(nn.Module):
    def __init__(self):
        super().__init__()
        self.huber = nn.HuberLoss(delta=0.4)

    def forward(self, a, b):
        return F.mse_loss(a, b) + F.smooth_l1_loss(a, b, beta=0.5) + self.huber(a, b) + F.l1_loss(a, b, reduction="sum")


class ChannelGroups(nn.Module):
    def forward(self, x):
        return x - x.mean(dim=(0, 2), keepdim=True)


def _randn(*shape):
    return lambda **_: [torch.randn(*shape)]


SUPPORTED = [
    ("chain", _module(Chain, lambda **_: [torch.randn(2, 3, 4, 5) * 3, 1.5], lambda **_: [3]), [{}], "elementwise"),
    ("softmax", _module(Softmax, lambda n, d: [torch.randn(n, d)]), [dict(n=4, d=37), dict(n=3, d=1000)], "rows"),
    ("log_softmax_dim1", _module(LogSoftmaxMid, _randn(2, 7, 3, 5)), [{}], "columns"),
    ("layernorm", _module(LayerNorm3d, lambda d: [torch.randn(2, 5, d)], lambda d: [d]), [dict(d=37), dict(d=64)], "rows"),
    ("rmsnorm", _module(RMS, lambda d: [torch.randn(7, d)], lambda d: [d]), [dict(d=33)], "rows"),
    ("row_stats", _module(Stats, _randn(6, 45)), [{}], "rows"),
    ("max_cols", _module(MaxCols, _randn(33, 7)), [{}], "columns"),
    ("instance_norm", _module(InstanceNorm, _randn(2, 3, 6, 7), lambda **_: [3]), [{}], "rows"),
    ("residual_two_outputs", _module(Residual, lambda **_: [torch.randn(5, 16), torch.randn(5, 16)]), [{}], "rows"),
    ("adaln_modulate", _module(Modulate, lambda **_: [torch.randn(2, 3, 8), torch.randn(2, 8), torch.randn(2, 8)]),
     [{}], "rows"),
    ("transposed_input", _module(Transposed, _randn(5, 9)), [{}], "elementwise"),
    ("flatten_output", _module(Flatten, _randn(2, 3, 4)), [{}], "elementwise"),
    ("small_full_sum", _module(FullSum, _randn(3, 4)), [{}], "rows"),
    ("causal_softmax", _module(CausalSoftmax, lambda s: [torch.randn(2, 3, s, s), 0.5]), [dict(s=5), dict(s=9)], "rows"),
    ("tril_columns", _module(TrilColumns, _randn(2, 6, 7)), [{}], "columns"),
    ("triu_elementwise", _module(TriuElementwise, _randn(3, 5, 6)), [{}], "elementwise"),
    ("row_loss_mean_two_kernels", _module(RowLossMean, lambda **_: [torch.randn(9, 6), torch.randn(9, 6)]), [{}],
     "rows"),
    ("prod_rows", _module(ProdRows, lambda **_: [torch.rand(5, 7) + 0.5]), [{}], "rows"),
    ("small_losses", _module(Losses, lambda **_: [torch.randn(6, 5), torch.randn(6, 5)]), [{}], "rows"),
    ("in_place_ops", _module(InPlace, _randn(4, 9)), [{}], "elementwise"),
    ("split_gate", _module(SplitGate, lambda d: [torch.randn(3, 2 * d)], lambda d: [d]), [dict(d=5), dict(d=8)],
     "elementwise"),
]


@pytest.mark.parametrize("name,mod,shapes,kind", SUPPORTED, ids=[c[0] for c in SUPPORTED])
def test_plan_matches_reference(name, mod, shapes, kind):
    plan = _check(mod, shapes)
    assert plan.kind == kind


def test_library_epilogue_needs_torch_ok():
    mod = _module(LinearGelu, _randn(4, 8), lambda **_: [8, 6])
    with pytest.raises(Unsupported, match="strict policy"):
        analyze(mod, ({},), "strict")
    plan = _check(mod, [{}], policy="torch-ok")
    assert [c.op for c in plan.library] == ["Linear"]
    assert plan.program.operands[0].expr == "_lib0" and plan.program.operands[0].layout is Layout.FULL


def test_layouts_follow_broadcasting():
    plan = analyze(_module(Chain, lambda **_: [torch.randn(2, 3, 4, 5), 1.5], lambda **_: [3]), ({},))
    layouts = {op.expr: op.layout for op in plan.program.operands}
    assert layouts == {"x": Layout.FULL, "self.bias": Layout.STRIDED}
    assert plan.program.scalars == ("float(scale)",)


@pytest.mark.parametrize(
    "mod,message",
    [
        (_module(Argmax, _randn(3, 4)), "op argmax not supported"),
        (_module(FullSum, _randn(2048, 1024)), "single block"),
        (_module(Dropout, _randn(3, 4)), "dropout"),
        (_module(ChannelGroups, _randn(2, 3, 4)), "non-adjacent"),
    ],
    ids=["argmax", "full_reduction", "dropout_training", "non_adjacent_dims"],
)
def test_unsupported_reference_is_refused(mod, message):
    with pytest.raises(Unsupported, match=message):
        analyze(mod, ({},))


ACTIVATIONS = {
    "threshold": lambda x: F.threshold(x, 0.1, -2.0),
    "hardshrink": lambda x: F.hardshrink(x, 0.3),
    "softshrink": lambda x: F.softshrink(x, 0.3),
    "elu": F.elu,
    "selu": F.selu,
    "celu": lambda x: F.celu(x, 0.7),
    "softplus": lambda x: F.softplus(x, 2.0, 5.0),
    "mish": F.mish,
    "silu": F.silu,
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "logsigmoid": F.logsigmoid,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "relu6": F.relu6,
    "hardtanh": lambda x: F.hardtanh(x, -0.5, 0.5),
    "softsign": F.softsign,
    "tanhshrink": F.tanhshrink,
    "clamp": lambda x: x.clamp(min=-1, max=2),
    "maximum": lambda x: torch.maximum(x, x * 0.5),
}
_EDGES = torch.tensor([float("nan"), float("inf"), float("-inf"), -100.0, -20.0, -1.0, -0.3, -0.0, 0.0, 0.1, 0.3,
                       1.0, 20.0, 30.0, 100.0])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_formulas_match_torch_on_edge_values(name):
    fn = ACTIVATIONS[name]

    class Act(nn.Module):
        def forward(self, x):
            return fn(x)

    plan = analyze(_module(Act, lambda **_: [_EDGES.clone()]), ({},))
    got = run_plan(plan, Act(), ["x"], [_EDGES])
    torch.testing.assert_close(got, fn(_EDGES), atol=1e-6, rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name,mod,shapes,kind", SUPPORTED, ids=[c[0] for c in SUPPORTED])
def test_generated_kernel_compiles(name, mod, shapes, kind):
    from cudarwin.agent.offline.proposer import make_kernel
    from cudarwin.runtime import compile_cuda

    plan = analyze(mod, tuple(shapes))
    for s, prog in enumerate((*plan.stages, plan.program)):
        kernel = make_kernel(dataclasses.replace(plan, program=prog, stages=()), f"k{s}_{name}", (4,) * prog.rank)
        defaults = {t.name: t.default for t in kernel.tunables}
        env = dict(defaults, _RPB=4 if defaults.get("THREADS_PER_ROW", 64) <= 32 else 1)
        options = tuple(f"-D{macro}={env[expr]}" for macro, expr in kernel.defines)
        compiled = compile_cuda(kernel.source, arch="sm_90", options=options, cache=False)
        assert [k.name for k in compiled.kernels] == [f"k{s}_{name}"]
