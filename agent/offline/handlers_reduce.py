"""fx op handlers for reductions and what is built on them: sums, means,
norms, softmax, layer/RMS/group/instance/batch norm and losses. Mixed into
the Converter."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import fx

from cudarwin.agent.offline import lowering as L
from cudarwin.agent.offline.builder import TVal, Unsupported
from cudarwin.agent.offline.ir import ReduceKind
from cudarwin.agent.offline.values import SINGLE_BLOCK_LIMIT, PyVal, Reshaped, Src, _norm_name


class ReduceHandlers:
    """``_op_<name>`` methods for reductions (see Converter for the helpers they use)."""

    # ------------------------------------------------------------------ reductions
    def _dims(self, node: fx.Node, i: int, key: str = "dim") -> tuple[int, ...]:
        dim = self._value(self._arg(node, i, key))
        if dim is None:  # every dim: one row, reduced by a single block
            meta = self.metas.get(node.args[0]) if node.args and isinstance(node.args[0], fx.Node) else None
            if isinstance(meta, torch.Tensor) and meta.numel() > SINGLE_BLOCK_LIMIT:
                raise Unsupported(f"op {_norm_name(node, self.gm)} over all {meta.numel()} elements would run on a "
                                  "single block (multi-block reductions are not generated)")
            return ()
        return tuple(dim) if isinstance(dim, (list, tuple)) else (int(dim),)

    def _reduce(self, node: fx.Node, kind: ReduceKind, name: str) -> TVal:
        self.b.labels.append(name)
        dims = self._dims(node, 1)
        keepdim = bool(self._value(self._arg(node, 2, "keepdim", False)))
        if node.kwargs.get("dtype") is not None:
            raise Unsupported(f"op {name} with dtype=")
        return self.o.reduce(kind, self._t(self._arg(node, 0)), dims, keepdim)

    def _op_sum(self, node: fx.Node) -> TVal:
        return self._reduce(node, ReduceKind.SUM, "sum")

    def _op_prod(self, node: fx.Node) -> TVal:
        return self._reduce(node, ReduceKind.PROD, "prod")

    def _op_amax(self, node: fx.Node) -> TVal:
        return self._reduce(node, ReduceKind.MAX, "amax")

    def _op_amin(self, node: fx.Node) -> TVal:
        return self._reduce(node, ReduceKind.MIN, "amin")

    def _op_mean(self, node: fx.Node) -> TVal:
        self.b.labels.append("mean")
        dims = self._dims(node, 1)
        keepdim = bool(self._value(self._arg(node, 2, "keepdim", False)))
        return self.o.mean(self._t(self._arg(node, 0)), dims, keepdim)

    def _var_args(self, node: fx.Node) -> tuple[tuple[int, ...], float, bool]:
        dims = self._dims(node, 1)
        unbiased = node.kwargs.get("unbiased")
        correction = node.kwargs.get("correction")
        if correction is None:
            correction = 1.0 if unbiased is None or unbiased else 0.0
        keepdim = bool(self._value(self._arg(node, 3, "keepdim", node.kwargs.get("keepdim", False))))
        if len(node.args) > 2 and isinstance(node.args[2], bool):
            correction = 1.0 if node.args[2] else 0.0
        return dims, float(self._value(correction)), keepdim

    def _op_var(self, node: fx.Node) -> TVal:
        self.b.labels.append("var")
        dims, corr, keepdim = self._var_args(node)
        return L.variance(self.o, self._t(self._arg(node, 0)), dims, keepdim, corr)

    def _op_std(self, node: fx.Node) -> TVal:
        self.b.labels.append("std")
        dims, corr, keepdim = self._var_args(node)
        return self.o.ap("sqrt", L.variance(self.o, self._t(self._arg(node, 0)), dims, keepdim, corr))

    def _op_norm(self, node: fx.Node) -> TVal:
        self.b.labels.append("norm")
        p = self._value(self._arg(node, 1, "p", 2))
        p = 2.0 if p in ("fro", None) else float(p)
        dims = self._dims(node, 2)
        keepdim = bool(self._value(self._arg(node, 3, "keepdim", False)))
        return L.norm(self.o, self._t(self._arg(node, 0)), p, dims, keepdim)

    def _op_logsumexp(self, node: fx.Node) -> TVal:
        self.b.labels.append("logsumexp")
        dims = self._dims(node, 1)
        keepdim = bool(self._value(self._arg(node, 2, "keepdim", False)))
        return L.logsumexp(self.o, self._t(self._arg(node, 0)), dims, keepdim)

    def _softmax_dim(self, node: fx.Node) -> int:
        dim = self._value(self._arg(node, 1, "dim"))
        if dim is None:
            raise Unsupported("op softmax without dim")
        if node.kwargs.get("dtype") is not None or (len(node.args) > 3 and node.args[3] is not None):
            raise Unsupported("op softmax with dtype=")
        return int(dim)

    def _op_softmax(self, node: fx.Node) -> TVal:
        self.b.labels.append("softmax")
        return L.softmax(self.o, self._t(self._arg(node, 0)), self._softmax_dim(node))

    def _op_log_softmax(self, node: fx.Node) -> TVal:
        self.b.labels.append("log_softmax")
        return L.log_softmax(self.o, self._t(self._arg(node, 0)), self._softmax_dim(node))

    def _op_Softmax(self, node: fx.Node) -> TVal:
        self.b.labels.append("softmax")
        dim = self._module(node).dim
        if dim is None:
            raise Unsupported("op Softmax without dim")
        return L.softmax(self.o, self._t(self._arg(node, 0)), int(dim))

    def _op_LogSoftmax(self, node: fx.Node) -> TVal:
        self.b.labels.append("log_softmax")
        dim = self._module(node).dim
        if dim is None:
            raise Unsupported("op LogSoftmax without dim")
        return L.log_softmax(self.o, self._t(self._arg(node, 0)), int(dim))

    def _opt_param(self, node: fx.Node, attr: str) -> TVal | None:
        mod = self._module(node)
        if getattr(mod, attr, None) is None:
            return None
        return self._t(Src(f"self.{node.target}.{attr}", getattr(mod, attr)))

    def _op_layer_norm(self, node: fx.Node) -> TVal:
        self.b.labels.append("layer_norm")
        shape = self._value(self._arg(node, 1, "normalized_shape"))
        w, b = self._arg(node, 2, "weight"), self._arg(node, 3, "bias")
        eps = float(self._value(self._arg(node, 4, "eps", 1e-5)))
        return L.layer_norm(self.o, self._t(self._arg(node, 0)), len(tuple(shape)),
                            None if w is None else self._t(w), None if b is None else self._t(b), eps)

    def _op_LayerNorm(self, node: fx.Node) -> TVal:
        self.b.labels.append("layer_norm")
        m = self._module(node)
        return L.layer_norm(self.o, self._t(self._arg(node, 0)), len(m.normalized_shape),
                            self._opt_param(node, "weight"), self._opt_param(node, "bias"), float(m.eps))

    def _op_rms_norm(self, node: fx.Node) -> TVal:
        self.b.labels.append("rms_norm")
        shape = self._value(self._arg(node, 1, "normalized_shape"))
        w = self._arg(node, 2, "weight")
        eps = self._value(self._arg(node, 3, "eps", None))
        return L.rms_norm(self.o, self._t(self._arg(node, 0)), len(tuple(shape)),
                          None if w is None else self._t(w), eps)

    def _op_RMSNorm(self, node: fx.Node) -> TVal:
        self.b.labels.append("rms_norm")
        m = self._module(node)
        return L.rms_norm(self.o, self._t(self._arg(node, 0)), len(m.normalized_shape),
                          self._opt_param(node, "weight"), m.eps)

    def _op_normalize(self, node: fx.Node) -> TVal:
        self.b.labels.append("normalize")
        p = float(self._value(self._arg(node, 1, "p", 2.0)))
        dim = int(self._value(self._arg(node, 2, "dim", 1)))
        eps = float(self._value(self._arg(node, 3, "eps", 1e-12)))
        return L.normalize(self.o, self._t(self._arg(node, 0)), p, dim, eps)

    def _instance_norm(self, node: fx.Node) -> TVal:
        self.b.labels.append("instance_norm")
        m = self._module(node)
        if m.track_running_stats and not m.training:
            raise Unsupported("op InstanceNorm with running stats in eval mode")
        x = self._t(self._arg(node, 0))
        spatial = len(x.shape) - 2
        if m.affine:
            return self._affine_norm(node, x, spatial)
        return L.layer_norm(self.o, x, spatial, None, None, float(m.eps))

    def _affine_norm(self, node: fx.Node, x: TVal, spatial: int) -> TVal:
        m = self._module(node)
        y = L.layer_norm(self.o, x, spatial, None, None, float(m.eps))
        shape = (-1,) + (1,) * spatial
        w = self._t(Src(f"self.{node.target}.weight.view{shape}", m.weight.view(shape)))
        b = self._t(Src(f"self.{node.target}.bias.view{shape}", m.bias.view(shape)))
        return self.o.add(self.o.mul(y, w), b)

    _op_InstanceNorm1d = _instance_norm
    _op_InstanceNorm2d = _instance_norm
    _op_InstanceNorm3d = _instance_norm

    def _batch_norm(self, node: fx.Node) -> TVal:
        m = self._module(node)
        if m.training or not m.track_running_stats:
            raise Unsupported(f"op {type(m).__name__} in training mode (reduces over non-adjacent dims N and H, W)")
        x = self._t(self._arg(node, 0))
        shape = (-1,) + (1,) * (len(x.shape) - 2)
        t = f"self.{node.target}"
        mean = self._t(Src(f"{t}.running_mean.view{shape}", m.running_mean.view(shape)))
        var = self._t(Src(f"{t}.running_var.view{shape}", m.running_var.view(shape)))
        y = self.o.mul(self.o.sub(x, mean), self.o.ap("rsqrt", self.o.add(var, float(m.eps))))
        if m.affine:
            w = self._t(Src(f"{t}.weight.view{shape}", m.weight.view(shape)))
            b = self._t(Src(f"{t}.bias.view{shape}", m.bias.view(shape)))
            y = self.o.add(self.o.mul(y, w), b)
        return y

    def _op_batch_norm(self, node: fx.Node) -> TVal:
        training = bool(self._value(self._arg(node, 5, "training", False)))
        mean, var = self._arg(node, 1, "running_mean"), self._arg(node, 2, "running_var")
        if training or mean is None or var is None:
            raise Unsupported("op batch_norm with batch statistics reduces over non-adjacent dims (N and H, W)")
        x = self._t(self._arg(node, 0))
        shape = (-1,) + (1,) * (len(x.shape) - 2)
        w, b = self._arg(node, 3, "weight"), self._arg(node, 4, "bias")
        eps = float(self._value(self._arg(node, 7, "eps", 1e-5)))

        def per_channel(v: Any) -> TVal:
            if not isinstance(v, Src):
                raise Unsupported("op batch_norm with computed statistics")
            return self._t(Src(f"{v.expr}.view{shape}", v.meta.view(shape)))

        y = self.o.mul(self.o.sub(x, per_channel(mean)), self.o.ap("rsqrt", self.o.add(per_channel(var), eps)))
        if w is not None:
            y = self.o.mul(y, per_channel(w))
        if b is not None:
            y = self.o.add(y, per_channel(b))
        return y

    _op_BatchNorm1d = _batch_norm
    _op_BatchNorm2d = _batch_norm
    _op_BatchNorm3d = _batch_norm

    def _int_expr(self, value: int) -> str:
        """Python text for an int the trace inlined: ``self.<attr>`` when exactly one
        int attribute of the reference holds it (so the candidate follows init
        arguments), else the literal."""
        names = [k for k, v in vars(self.model or object()).items()
                 if type(v) is int and v == value and not k.startswith("_")]
        return f"self.{names[0]}" if len(names) == 1 else repr(value)

    def _group_norm(self, x: TVal, groups: str, n_groups: int, weight: Any, bias: Any, eps: float) -> Reshaped:
        self.b.labels.append("group_norm")
        n, c, *spatial = x.shape
        if c % n_groups:
            raise Unsupported("op group_norm with channels not divisible by groups")
        view = f"{{e}}.view({{e}}.shape[0], {groups}, {{e}}.shape[1] // {groups}, *{{e}}.shape[2:])"
        xr = self.b.reshape(x, (n, n_groups, c // n_groups, *spatial), view)
        y = L.layer_norm(self.o, xr, 1 + len(spatial), None, None, eps)
        ones = ", 1" * len(spatial)
        for param, op in ((weight, "mul"), (bias, "add")):
            if param is not None:
                if not isinstance(param, Src):
                    raise Unsupported("op group_norm with a computed weight")
                meta = param.meta.view(n_groups, c // n_groups, *([1] * len(spatial)))
                y = self.o.ap(op, y, self._t(Src(f"{param.expr}.view({groups}, -1{ones})", meta)))
        return Reshaped(y, "_out.view(_out.shape[0], _out.shape[1] * _out.shape[2], *_out.shape[3:])")

    def _op_group_norm(self, node: fx.Node) -> Reshaped:
        x = self._t(self._arg(node, 0))
        n_groups = int(self._value(self._arg(node, 1, "num_groups")))
        groups = self._int_expr(n_groups) if not isinstance(self._arg(node, 1, "num_groups"), PyVal) else \
            self._py(self._arg(node, 1, "num_groups"))
        w, b = self._arg(node, 2, "weight"), self._arg(node, 3, "bias")
        eps = float(self._value(self._arg(node, 4, "eps", 1e-5)))
        return self._group_norm(x, groups, n_groups, w, b, eps)

    # ------------------------------------------------------------------ losses
    def _op_cross_entropy(self, node: fx.Node) -> TVal:
        """Per-row cross entropy: logsumexp(x) - x[target], the target column
        picked by comparing it with the column coordinate inside the row pass."""
        x, target = self._t(self._arg(node, 0)), self._arg(node, 1, "target")
        reduction = self._value(self._arg(node, 5, "reduction", "mean"))
        if reduction != "none":
            raise Unsupported(f"op cross_entropy with reduction={reduction!r} (a reduction over all rows)")
        if self._arg(node, 2, "weight") is not None or self._value(self._arg(node, 7, "label_smoothing", 0.0)):
            raise Unsupported("op cross_entropy with class weights or label smoothing")
        ignore = int(self._value(self._arg(node, 4, "ignore_index", -100)))
        if len(x.shape) != 2 or not isinstance(target, Src) or target.meta.dtype not in (torch.int64, torch.int32):
            raise Unsupported("op cross_entropy other than (N, C) logits with integer class targets")
        self.b.labels.append("cross_entropy")
        t = self._t(Src(f"{target.expr}.unsqueeze(-1)", target.meta.unsqueeze(-1), as_float=True))
        lse = L.logsumexp(self.o, x, (1,), keepdim=True)
        hit = self.o.ap("eq", self.b.index(x, 1), t)
        picked = self.o.reduce(ReduceKind.SUM, self.o.where(hit, x, 0.0), (1,), True)
        loss = self.o.where(self.o.ap("eq", t, float(ignore)), 0.0, self.o.sub(lse, picked))
        return dataclasses.replace(loss, shape=loss.shape[:1], fdims=loss.fdims[:1])

    def _pointwise_loss(self, node: fx.Node, name: str, reduction: str, t: float = 1.0) -> TVal:
        """mse / l1 / smooth-l1 (beta ``t``) / huber (delta ``t``) losses; "mean"
        and "sum" reduce every element (small tensors only: one block)."""
        a, b = self._t(self._arg(node, 0)), self._t(self._arg(node, 1, "target"))
        d = self.o.sub(a, b)
        if name == "mse_loss":
            loss = self.o.mul(d, d)
        elif name == "l1_loss":
            loss = self.o.ap("abs", d)
        else:
            ad = self.o.ap("abs", d)
            quad = self.o.mul(0.5, self.o.mul(d, d))
            lin = self.o.sub(ad, 0.5 * t)
            if name == "smooth_l1_loss":
                quad = self.o.div(quad, t) if t else quad
            else:
                lin = self.o.mul(lin, t)
            loss = self.o.where(self.o.ap("lt", ad, t), quad, lin)
        self.b.labels.append(name)
        if reduction == "none":
            return loss
        if math.prod(loss.shape) > SINGLE_BLOCK_LIMIT:
            raise Unsupported(f"op {name} over all {math.prod(loss.shape)} elements would run on a single block "
                              "(multi-block reductions are not generated)")
        if reduction == "sum":
            return self.o.reduce(ReduceKind.SUM, loss, (), False)
        return self.o.mean(loss, (), False)

    def _loss_kwargs(self, node: fx.Node, key: str | None) -> tuple[str, float]:
        reduction = str(self._value(self._resolve(node.kwargs.get("reduction", "mean"))))
        t = float(self._value(self._resolve(node.kwargs.get(key, 1.0)))) if key else 1.0
        return reduction, t

    def _op_mse_loss(self, node: fx.Node) -> TVal:
        return self._pointwise_loss(node, "mse_loss", *self._loss_kwargs(node, None))

    def _op_l1_loss(self, node: fx.Node) -> TVal:
        return self._pointwise_loss(node, "l1_loss", *self._loss_kwargs(node, None))

    def _op_smooth_l1_loss(self, node: fx.Node) -> TVal:
        return self._pointwise_loss(node, "smooth_l1_loss", *self._loss_kwargs(node, "beta"))

    def _op_huber_loss(self, node: fx.Node) -> TVal:
        return self._pointwise_loss(node, "huber_loss", *self._loss_kwargs(node, "delta"))

    def _op_MSELoss(self, node: fx.Node) -> TVal:
        return self._pointwise_loss(node, "mse_loss", self._module(node).reduction)

    def _op_L1Loss(self, node: fx.Node) -> TVal:
        return self._pointwise_loss(node, "l1_loss", self._module(node).reduction)

    def _op_SmoothL1Loss(self, node: fx.Node) -> TVal:
        m = self._module(node)
        return self._pointwise_loss(node, "smooth_l1_loss", m.reduction, float(m.beta))

    def _op_HuberLoss(self, node: fx.Node) -> TVal:
        m = self._module(node)
        return self._pointwise_loss(node, "huber_loss", m.reduction, float(m.delta))
