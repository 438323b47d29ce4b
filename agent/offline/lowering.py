"""torch operations written as primitives of the IR.

Each function takes a :class:`ProgramBuilder` and IR values (or Python
numbers) and returns the IR value of the op's result. The formulas follow
torch's definitions, including how NaN propagates, so that the generated
kernel agrees with the reference on adversarial inputs too.
"""

from __future__ import annotations

import math

from cudarwin.agent.offline.builder import ProgramBuilder, TVal, Unsupported
from cudarwin.agent.offline.ir import ReduceKind

Num = TVal | float | int

_FLOAT32_EPS = 1.1920928955078125e-07  # torch.finfo(torch.float32).eps, rms_norm's default


class Ops:
    """Arithmetic on IR values; numbers become constants."""

    def __init__(self, b: ProgramBuilder) -> None:
        self.b = b

    def v(self, a: Num) -> TVal:
        return a if isinstance(a, TVal) else self.b.const(float(a))

    def ap(self, op: str, *args: Num) -> TVal:
        return self.b.apply(op, *(self.v(a) for a in args))

    def add(self, a: Num, b: Num) -> TVal:
        return self.ap("add", a, b)

    def sub(self, a: Num, b: Num) -> TVal:
        return self.ap("sub", a, b)

    def mul(self, a: Num, b: Num) -> TVal:
        return self.ap("mul", a, b)

    def div(self, a: Num, b: Num) -> TVal:
        return self.ap("div", a, b)

    def where(self, c: Num, a: Num, b: Num) -> TVal:
        return self.ap("where", c, a, b)

    def pow(self, a: Num, e: Num) -> TVal:
        """x ** e, with small integer and half exponents spelled exactly."""
        if isinstance(e, TVal) or isinstance(a, (int, float)):
            return self.ap("pow", a, e)
        if e == 1:
            return self.v(a)
        if e == 2:
            return self.mul(a, a)
        if e == 3:
            return self.mul(self.mul(a, a), a)
        if e == 0.5:
            return self.ap("sqrt", a)
        if e == -1:
            return self.ap("recip", a)
        if e == -0.5:
            return self.ap("rsqrt", a)
        return self.ap("pow", a, e)

    def clamp(self, x: Num, lo: Num | None, hi: Num | None) -> TVal:
        # torch.clamp keeps NaN; the max/min primitives propagate NaN from either side
        out = self.v(x)
        if lo is not None:
            out = self.ap("max", out, lo)
        if hi is not None:
            out = self.ap("min", out, hi)
        return out

    def reduce(self, kind: ReduceKind, x: TVal, dims: tuple[int, ...], keepdim: bool) -> TVal:
        return self.b.reduce(kind, x, dims, keepdim)

    def mean(self, x: TVal, dims: tuple[int, ...], keepdim: bool) -> TVal:
        return self.div(self.reduce(ReduceKind.SUM, x, dims, keepdim), self.b.count())


# ---------------------------------------------------------------- activations


def gelu(o: Ops, x: TVal, approximate: str = "none") -> TVal:
    if approximate == "tanh":
        inner = o.mul(math.sqrt(2.0 / math.pi), o.add(x, o.mul(0.044715, o.pow(x, 3))))
        return o.mul(o.mul(0.5, x), o.add(1.0, o.ap("tanh", inner)))
    if approximate != "none":
        raise Unsupported(f"gelu approximate={approximate!r}")
    return o.mul(o.mul(0.5, x), o.add(1.0, o.ap("erf", o.mul(x, math.sqrt(0.5)))))


def softplus(o: Ops, x: TVal, beta: float = 1.0, threshold: float = 20.0) -> TVal:
    bx = o.mul(x, beta) if beta != 1 else x
    soft = o.ap("log1p", o.ap("exp", bx))
    if beta != 1:
        soft = o.div(soft, beta)
    return o.where(o.ap("gt", bx, threshold), x, soft)


def elu(o: Ops, x: TVal, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0) -> TVal:
    xs = o.mul(x, input_scale) if input_scale != 1 else x
    neg = o.mul(alpha, o.ap("expm1", xs))
    out = o.where(o.ap("gt", x, 0.0), x, neg)
    return o.mul(out, scale) if scale != 1 else out


def selu(o: Ops, x: TVal) -> TVal:
    return elu(o, x, alpha=1.6732632423543772, scale=1.0507009873554805)


def celu(o: Ops, x: TVal, alpha: float = 1.0) -> TVal:
    return elu(o, x, alpha=alpha, input_scale=1.0 / alpha)


def leaky_relu(o: Ops, x: TVal, slope: float = 0.01) -> TVal:
    return o.where(o.ap("gt", x, 0.0), x, o.mul(x, slope))


def hardsigmoid(o: Ops, x: TVal) -> TVal:
    return o.div(o.clamp(o.add(x, 3.0), 0.0, 6.0), 6.0)


def hardswish(o: Ops, x: TVal) -> TVal:
    return o.mul(x, hardsigmoid(o, x))


def silu(o: Ops, x: TVal) -> TVal:
    return o.mul(x, o.ap("sigmoid", x))


def mish(o: Ops, x: TVal) -> TVal:
    return o.mul(x, o.ap("tanh", softplus(o, x)))


def softsign(o: Ops, x: TVal) -> TVal:
    return o.div(x, o.add(1.0, o.ap("abs", x)))


def logsigmoid(o: Ops, x: TVal) -> TVal:
    # min(x, 0) - log1p(exp(-|x|)): stable for large |x|
    return o.sub(o.ap("min", x, 0.0), o.ap("log1p", o.ap("exp", o.ap("neg", o.ap("abs", x)))))


def threshold(o: Ops, x: TVal, th: float, value: float) -> TVal:
    # torch replaces x <= th, so NaN (no comparison holds) stays NaN
    return o.where(o.ap("le", x, th), value, x)


def hardshrink(o: Ops, x: TVal, lambd: float = 0.5) -> TVal:
    return o.where(o.ap("le", o.ap("abs", x), lambd), 0.0, x)


def softshrink(o: Ops, x: TVal, lambd: float = 0.5) -> TVal:
    shrunk = o.where(o.ap("gt", x, lambd), o.sub(x, lambd), o.where(o.ap("lt", x, -lambd), o.add(x, lambd), 0.0))
    return o.where(o.ap("ne", x, x), x, shrunk)


# ---------------------------------------------------------------- reductions


def softmax(o: Ops, x: TVal, dim: int) -> TVal:
    m = o.reduce(ReduceKind.MAX, x, (dim,), True)
    e = o.ap("exp", o.sub(x, m))
    return o.div(e, o.reduce(ReduceKind.SUM, e, (dim,), True))


def log_softmax(o: Ops, x: TVal, dim: int) -> TVal:
    m = o.reduce(ReduceKind.MAX, x, (dim,), True)
    shifted = o.sub(x, m)
    lse = o.ap("log", o.reduce(ReduceKind.SUM, o.ap("exp", shifted), (dim,), True))
    return o.sub(shifted, lse)


def logsumexp(o: Ops, x: TVal, dims: tuple[int, ...], keepdim: bool) -> TVal:
    # torch shifts by the max but treats an infinite max as 0 so that inf rows give inf
    m = o.ap("inf_to_zero", o.reduce(ReduceKind.MAX, x, dims, True))
    s = o.reduce(ReduceKind.SUM, o.ap("exp", o.sub(x, m)), dims, keepdim)
    m_out = m if keepdim else o.reduce(ReduceKind.MAX, x, dims, False)
    if not keepdim:
        m_out = o.ap("inf_to_zero", m_out)
    return o.add(o.ap("log", s), m_out)


def variance(o: Ops, x: TVal, dims: tuple[int, ...], keepdim: bool, correction: float) -> TVal:
    mean = o.mean(x, dims, True)
    d = o.sub(x, mean)
    ss = o.reduce(ReduceKind.SUM, o.mul(d, d), dims, keepdim)
    return o.div(ss, o.sub(o.b.count(), correction) if correction else o.b.count())


def norm(o: Ops, x: TVal, p: float, dims: tuple[int, ...], keepdim: bool) -> TVal:
    if p == 2:
        return o.ap("sqrt", o.reduce(ReduceKind.SUM, o.mul(x, x), dims, keepdim))
    if p == 1:
        return o.reduce(ReduceKind.SUM, o.ap("abs", x), dims, keepdim)
    if p == math.inf:
        return o.reduce(ReduceKind.MAX, o.ap("abs", x), dims, keepdim)
    raise Unsupported(f"norm with p={p}")


def layer_norm(o: Ops, x: TVal, ndims: int, weight: TVal | None, bias: TVal | None, eps: float) -> TVal:
    dims = tuple(range(-ndims, 0))
    mean = o.mean(x, dims, True)
    d = o.sub(x, mean)
    var = o.div(o.reduce(ReduceKind.SUM, o.mul(d, d), dims, True), o.b.count())
    y = o.mul(d, o.ap("rsqrt", o.add(var, eps)))
    if weight is not None:
        y = o.mul(y, weight)
    if bias is not None:
        y = o.add(y, bias)
    return y


def rms_norm(o: Ops, x: TVal, ndims: int, weight: TVal | None, eps: float | None) -> TVal:
    dims = tuple(range(-ndims, 0))
    ms = o.mean(o.mul(x, x), dims, True)
    y = o.mul(x, o.ap("rsqrt", o.add(ms, _FLOAT32_EPS if eps is None else eps)))
    return o.mul(y, weight) if weight is not None else y


def normalize(o: Ops, x: TVal, p: float, dim: int, eps: float) -> TVal:
    return o.div(x, o.ap("max", norm(o, x, p, (dim,), True), eps))
