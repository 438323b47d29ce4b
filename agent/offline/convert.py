"""Turns a traced reference (a torch.fx graph plus the meta tensors each node
produced) into a :class:`~cudarwin.agent.offline.ir.Plan`.

Every fx node is mapped to one of: a leaf tensor the kernel will read
(:class:`Src`), an IR value (:class:`TVal`), a Python value computed in the
candidate's forward from sizes and scalar arguments (:class:`PyVal`), or a
library call kept in torch (matmul/convolution, ``torch-ok`` only). Anything
else raises :class:`Unsupported` naming the op.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from typing import Any, Callable

import torch
import torch.nn as nn
from torch import fx

from cudarwin.agent.offline import lowering as L
from cudarwin.agent.offline.builder import ProgramBuilder, ReduceDimsMismatch, TVal, Unsupported
from cudarwin.agent.offline.handlers_pointwise import PointwiseHandlers
from cudarwin.agent.offline.handlers_reduce import ReduceHandlers
from cudarwin.agent.offline.ir import LibraryCall, Plan
from cudarwin.agent.offline.values import (
    _INT_DTYPES,
    Concat,
    PostLib,
    PyVal,
    Reshaped,
    Src,
    ValuesOf,
    _norm_name,
)

_VIEW_METHODS = {"view", "reshape", "flatten", "unsqueeze", "squeeze", "view_as", "reshape_as"}
_LEAF_ONLY_VIEWS = {"permute", "transpose", "t", "expand", "expand_as", "mT", "T"}
_NOOPS = {"contiguous", "clone", "detach", "Identity", "Dropout", "Dropout1d", "Dropout2d",
          "Dropout3d", "dropout", "alpha_dropout", "AlphaDropout"}
_LIBRARY_FUNCS = {
    "linear": "torch.nn.functional.linear",
    "matmul": "torch.matmul",
    "mm": "torch.mm",
    "bmm": "torch.bmm",
    "conv1d": "torch.nn.functional.conv1d",
    "conv2d": "torch.nn.functional.conv2d",
    "conv3d": "torch.nn.functional.conv3d",
    "conv_transpose1d": "torch.nn.functional.conv_transpose1d",
    "conv_transpose2d": "torch.nn.functional.conv_transpose2d",
    "conv_transpose3d": "torch.nn.functional.conv_transpose3d",
}
_LIBRARY_MODULES = {"Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                    "Bilinear"}
_PY_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "pow": operator.pow, "mod": operator.mod,
}
_PY_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "pow": "**", "mod": "%"}
_TENSOR_BINARY = {
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "div": "div", "pow": "pow",
    "maximum": "max", "minimum": "min", "fmax": "max", "fmin": "min", "gt": "gt", "ge": "ge", "lt": "lt",
    "le": "le", "eq": "eq", "ne": "ne", "greater": "gt", "less": "lt", "fmod": "fmod", "multiply": "mul",
    "subtract": "sub", "divide": "div", "true_divide": "div", "rsub": "rsub", "radd": "add", "rmul": "mul",
    "iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "div",
}
_TENSOR_UNARY = {
    "neg": "neg", "negative": "neg", "exp": "exp", "log": "log", "log2": "log2", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "abs": "abs", "relu": "relu", "ReLU": "relu", "sigmoid": "sigmoid", "Sigmoid": "sigmoid", "tanh": "tanh",
    "Tanh": "tanh", "erf": "erf", "sin": "sin", "cos": "cos", "log1p": "log1p", "expm1": "expm1", "floor": "floor",
    "ceil": "ceil", "round": "round", "trunc": "trunc", "reciprocal": "recip",
}


class Converter(PointwiseHandlers, ReduceHandlers):
    """One conversion of one traced graph at one shape."""

    def __init__(self, gm: fx.GraphModule, metas: dict[fx.Node, Any], policy: str, forward_args: list[str],
                 relative_slices: bool = False, model: nn.Module | None = None):
        self.gm = gm
        self.metas = metas
        self.policy = policy
        self.b = ProgramBuilder()
        self.o = L.Ops(self.b)
        # earlier kernels: their builders and the values they must write out (`_mid<s>_<m>`)
        self.stages: list[ProgramBuilder] = []
        self.stage_outputs: list[list[TVal]] = []
        self.env: dict[fx.Node, Any] = {}
        self.library: list[LibraryCall] = []
        self.post: list[LibraryCall] = []
        self.post_inputs: list[TVal] = []  # fused values a post-kernel library call reads (kernel outputs)
        self.forward_args = forward_args
        # Slice bounds that are literal ints (an inlined `self.d`) can be written
        # relative to the sliced size ("{size} // 2") so that one candidate serves
        # every shape; analyze() picks the mode that agrees across shapes.
        self.relative_slices = relative_slices
        self.model = model

    # ------------------------------------------------------------------ driver
    def run(self) -> Plan:
        out_node = next(n for n in self.gm.graph.nodes if n.op == "output")
        for node in self.gm.graph.nodes:
            if node is out_node:
                break
            self.env[node] = self._convert(node)
        result = out_node.args[0]
        container = ""
        results = [result]
        if isinstance(result, (tuple, list)):
            container, results = type(result).__name__, list(result)
        if self.post:
            return self._with_post(results)
        outs: list[tuple[TVal, str, tuple[int, int, int, int] | None]] = []
        for group, r in enumerate(results):
            value = self.env.get(r) if isinstance(r, fx.Node) else r
            view = ""
            if isinstance(value, Concat):
                if self.metas[r].dtype != torch.float32:
                    raise Unsupported(f"output dtype {self.metas[r].dtype} (only float32 is generated)")
                n = len(value.parts)
                outs += [(p, "", (group, k, n, value.dim)) for k, p in enumerate(value.parts)]
                continue
            if isinstance(value, Reshaped):
                value, view = value.val, value.view
            if isinstance(value, Src) and value.expr.startswith("_lib"):
                raise Unsupported(f"nothing to fuse after the library op {self.library[-1].op} (it is returned as is)")
            if not isinstance(value, TVal):
                raise Unsupported("the reference returns an input or a non-tensor unchanged")
            if self.metas[r].dtype != torch.float32:
                raise Unsupported(f"output dtype {self.metas[r].dtype} (only float32 is generated)")
            outs.append((value, view, None))
        return Plan(program=self.b.build(outs, container), library=tuple(self.library), stages=self._stage_programs())

    def _stage_programs(self) -> tuple[Any, ...]:
        if self.stages and not self.stage_outputs[0]:
            return ()  # nothing of the first kernel is used: it is dead code
        return tuple(b.build([(v, "", None) for v in outs]) for b, outs in zip(self.stages, self.stage_outputs))

    def _with_post(self, results: list[Any]) -> Plan:
        """A plan whose kernel feeds library calls: the reference must return the last one."""
        last = self.env.get(results[0]) if len(results) == 1 and isinstance(results[0], fx.Node) else None
        if not (isinstance(last, PostLib) and last.var == self.post[-1].result):
            raise Unsupported("the reference returns something other than its last library op's result")
        if self.metas[results[0]].dtype != torch.float32:
            raise Unsupported(f"output dtype {self.metas[results[0]].dtype} (only float32 is generated)")
        outs = [(v, "", None) for v in self.post_inputs]
        return Plan(program=self.b.build(outs), library=tuple(self.library), post=tuple(self.post),
                    stages=self._stage_programs())

    def _convert(self, node: fx.Node) -> Any:
        meta = self.metas.get(node)
        if node.op == "placeholder":
            name = str(node.target).lstrip("*")
            return Src(name, meta) if isinstance(meta, torch.Tensor) else PyVal(name, meta)
        if node.op == "get_attr":
            if not isinstance(meta, torch.Tensor):
                return PyVal(f"self.{node.target}", meta)
            return Src(f"self.{node.target}", meta)
        name = _norm_name(node, self.gm)
        try:
            result = self._dispatch(node, name)
        except ReduceDimsMismatch:
            self._cut()  # the reduction's arguments become outputs of the kernel so far
            result = self._dispatch(node, name)
        if isinstance(result, TVal) and name not in _VIEW_METHODS and name not in _NOOPS:
            self.b.labels.append(name)
        return result

    def _dispatch(self, node: fx.Node, name: str) -> Any:
        handler = getattr(self, f"_op_{name}", None)
        if node.op == "call_module" and name in _LIBRARY_MODULES or name in _LIBRARY_FUNCS and node.op != "call_module":
            return self._library(node, name)
        if handler is not None:
            return handler(node)
        if name in _NOOPS:
            return self._noop(node, name)
        if name in _VIEW_METHODS or name in _LEAF_ONLY_VIEWS:
            return self._view(node, name)
        if name in _TENSOR_UNARY:
            return self.o.ap(_TENSOR_UNARY[name], self._t(self._arg(node, 0)))
        if name in _TENSOR_BINARY:
            return self._binary(node, _TENSOR_BINARY[name], name)
        raise Unsupported(f"op {name} not supported")

    # ------------------------------------------------------------------ argument access
    def _raw(self, node: fx.Node, i: int, key: str | None = None, default: Any = None) -> Any:
        """Positional argument ``i`` or keyword ``key`` (a method's tensor is
        args[0], so indices match the torch function's)."""
        if i < len(node.args):
            return node.args[i]
        if key is not None and key in node.kwargs:
            return node.kwargs[key]
        return default

    def _arg(self, node: fx.Node, i: int, key: str | None = None, default: Any = None) -> Any:
        """Argument ``i`` (or keyword ``key``), with fx nodes replaced by their converted value."""
        return self._resolve(self._raw(node, i, key, default))

    def _resolve(self, raw: Any) -> Any:
        if isinstance(raw, fx.Node):
            return self.env[raw]
        if isinstance(raw, (list, tuple)):
            return type(raw)(self._resolve(r) for r in raw)
        if isinstance(raw, slice):
            return slice(self._resolve(raw.start), self._resolve(raw.stop), self._resolve(raw.step))
        return raw

    def _value(self, v: Any) -> Any:
        """The concrete (meta-time) value of a Python-level argument."""
        if isinstance(v, PyVal):
            return v.value
        if isinstance(v, (list, tuple)):
            return type(v)(self._value(x) for x in v)
        if isinstance(v, (Src, TVal, Reshaped, ValuesOf)):
            raise Unsupported("a tensor where a Python value is expected")
        return v

    def _module(self, node: fx.Node) -> nn.Module:
        return self.gm.get_submodule(str(node.target))

    # ------------------------------------------------------------------ tensors
    def _t(self, v: Any) -> TVal:
        """An IR value for ``v``; leaves become operands, numbers constants."""
        if isinstance(v, TVal):
            return v if v.stage == self.b.stage else self._materialize(v)
        if isinstance(v, Src):
            if v.as_float and v.meta.dtype in _INT_DTYPES:
                return self.b.leaf(v.expr, tuple(v.meta.shape), _INT_DTYPES[v.meta.dtype])
            if v.meta.dtype != torch.float32:
                raise Unsupported(f"tensor {v.expr} has dtype {v.meta.dtype} (only float32 is generated)")
            return self.b.leaf(v.expr, tuple(v.meta.shape))
        if isinstance(v, PyVal):
            if isinstance(v.value, bool) or not isinstance(v.value, (int, float)):
                raise Unsupported(f"a {type(v.value).__name__} argument where a number is expected")
            return self.b.scalar(f"float({v.expr})")
        if isinstance(v, bool):
            return self.b.const(float(v))
        if isinstance(v, (int, float)):
            return self.b.const(float(v))
        if isinstance(v, Reshaped):
            raise Unsupported("a reshaped intermediate result is used again (only the output may be reshaped)")
        if isinstance(v, Concat):
            raise Unsupported("op cat result used again (only a returned cat is generated)")
        if isinstance(v, PostLib):
            raise Unsupported("compute after a library op that follows fused ops (only one fused kernel is generated)")
        if isinstance(v, ValuesOf):
            raise Unsupported("max/min with dim returns (values, indices); use [0] or amax/amin")
        raise Unsupported(f"argument of type {type(v).__name__}")

    def _materialize(self, v: TVal) -> TVal:
        """A value of an earlier kernel, written out by it and read back as a leaf."""
        outs = self.stage_outputs[v.stage]
        if v not in outs:
            outs.append(v)
        name = f"_mid{v.stage}_{outs.index(v)}"
        return self._t(Src(name, torch.empty(v.shape, device="meta")))

    def _cut(self) -> None:
        """Start the next kernel: a reduction over other dims than the current one's."""
        if self.stages:
            raise Unsupported("reductions over three different sets of dims (at most two kernels are generated)")
        self.stages.append(self.b)
        self.stage_outputs.append([])
        self.b = ProgramBuilder(stage=len(self.stages))
        self.o = L.Ops(self.b)

    def _t_or_num(self, v: Any) -> TVal | float:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        return self._t(v)

    def _py(self, v: Any) -> str:
        """Python source for a non-tensor argument."""
        if isinstance(v, PyVal):
            return v.expr
        if isinstance(v, Src):
            return v.expr
        if isinstance(v, tuple):
            return "(" + "".join(self._py(x) + ", " for x in v) + ")"
        if isinstance(v, list):
            return "[" + ", ".join(self._py(x) for x in v) + "]"
        if isinstance(v, torch.dtype):
            return str(v)
        if isinstance(v, (int, float, bool, str)) or v is None:
            return repr(v)
        raise Unsupported(f"cannot express a {type(v).__name__} argument in Python")

    # ------------------------------------------------------------------ generic handlers
    def _noop(self, node: fx.Node, name: str) -> Any:
        if name.lower().startswith(("dropout", "alpha")) or name in ("AlphaDropout",):
            if node.op == "call_module":
                mod = self._module(node)
                p, training = getattr(mod, "p", 0.0), mod.training
            else:
                p, training = self._value(self._arg(node, 1, "p", 0.5)), self._value(self._arg(node, 2, "training", True))
            if training and p > 0:
                raise Unsupported("op dropout not supported in training mode (random)")
        return self._arg(node, 0)

    def _binary(self, node: fx.Node, op: str, name: str) -> Any:
        a, b = self._arg(node, 0, "input"), self._arg(node, 1, "other")
        tensors = (Src, TVal, Reshaped, ValuesOf)
        if not isinstance(a, tensors) and not isinstance(b, tensors):
            return self._py_binary(name, a, b)
        alpha = self._value(node.kwargs.get("alpha", 1))
        if op == "rsub":
            a, b, op = b, a, "sub"
        if op in ("add", "sub") and alpha != 1:
            b = self.o.mul(self._t_or_num(b), float(alpha))
        rounding = node.kwargs.get("rounding_mode")
        if rounding is not None:
            raise Unsupported(f"op div with rounding_mode={rounding!r} not supported")
        if op == "pow" and isinstance(self._t_or_num(b), float):
            return self.o.pow(self._t(a), float(b) if not isinstance(b, PyVal) else b.value)
        return self.o.ap(op, self._t_or_num(a), self._t_or_num(b))

    def _py_binary(self, name: str, a: Any, b: Any) -> PyVal:
        if name not in _PY_BINARY:
            raise Unsupported(f"op {name} on Python values")
        value = _PY_BINARY[name](self._value(a), self._value(b))
        return PyVal(f"({self._py(a)} {_PY_SYMBOL[name]} {self._py(b)})", value)

    def _library(self, node: fx.Node, name: str) -> Src:
        if self.policy != "torch-ok":
            raise Unsupported(
                f"op {name} needs a library matmul/convolution, which the strict policy forbids "
                "(run with policy torch-ok)"
            )
        args = [self._resolve(a) for a in node.args]
        kwargs = {k: self._resolve(v) for k, v in node.kwargs.items()}
        values = [*args, *kwargs.values()]
        if any(isinstance(a, (Reshaped, ValuesOf, Concat, PostLib)) for a in values) or (
            self.post and any(isinstance(a, Src) and a.expr.startswith("_lib") for a in values)
        ):
            raise Unsupported(f"op {name} on this value: only one fused kernel between library ops is generated")
        post = any(isinstance(a, TVal) for a in values)
        if post:  # fused values feed the library op: they become kernel outputs
            args = [self._post_input(a) for a in args]
            kwargs = {k: self._post_input(v) for k, v in kwargs.items()}
        call_args = ", ".join([self._py(a) for a in args] + [f"{k}={self._py(v)}" for k, v in kwargs.items()])
        if node.op == "call_module":
            expr = f"self.{node.target}({call_args})"
        elif node.op == "call_method":
            expr = f"{self._py(args[0])}.{node.target}({', '.join(self._py(a) for a in args[1:])})"
        else:
            expr = f"{_LIBRARY_FUNCS[name]}({call_args})"
        if post:
            var = f"_post{len(self.post)}"
            self.post.append(LibraryCall(var, expr, name))
            return PostLib(var)
        var = f"_lib{len(self.library)}"
        self.library.append(LibraryCall(var, expr, name))
        return Src(var, self.metas[node])

    def _post_input(self, v: Any) -> Any:
        if not isinstance(v, TVal):
            return v
        if v not in self.post_inputs:
            self.post_inputs.append(v)
        return PyVal(f"_out{self.post_inputs.index(v)}", None)

    def _view(self, node: fx.Node, name: str) -> Any:
        src = self._arg(node, 0)
        meta = self.metas[node]
        rest = [self._resolve(a) for a in node.args[1:]]
        kwargs = {k: self._resolve(v) for k, v in node.kwargs.items()}
        call = ", ".join([self._py(a) for a in rest] + [f"{k}={self._py(v)}" for k, v in kwargs.items()])
        if isinstance(src, Src):
            if node.op == "call_method":
                expr = f"{src.expr}.{name}({call})" if name not in ("mT", "T") else f"{src.expr}.{name}"
            else:
                expr = f"torch.{name}({src.expr}{', ' if call else ''}{call})"
            return Src(expr, meta)
        if not isinstance(src, TVal):
            raise Unsupported(f"op {name} on a {type(src).__name__}")
        if name in _LEAF_ONLY_VIEWS:
            raise Unsupported(f"op {name} of a computed value (only inputs may be permuted)")
        new_shape = tuple(meta.shape)
        if [s for s in src.shape if s != 1] == [s for s in new_shape if s != 1]:
            spans = iter(f for s, f in zip(src.shape, src.fdims) if s != 1)
            return dataclasses.replace(src, shape=new_shape,
                                       fdims=tuple(next(spans) if s != 1 else None for s in new_shape))
        if node.op == "call_method":
            view = f"_out.{name}({call})"
        else:
            view = f"torch.{name}(_out{', ' if call else ''}{call})"
        return Reshaped(src, view)

    # ------------------------------------------------------------------ Python-level ops
    def _op_getattr(self, node: fx.Node) -> Any:
        obj, attr = self._arg(node, 0), node.args[1]
        if attr in ("shape",):
            return self._shape_of(obj)
        if attr in ("ndim",):
            return PyVal(f"len({self._shape_of(obj).expr})", self.metas[node])
        if attr in ("T", "mT"):
            return self._view(node, attr)
        if attr == "values" and isinstance(obj, ValuesOf):
            return obj.val
        if attr in ("device", "dtype") and isinstance(obj, Src):
            return PyVal(f"{obj.expr}.{attr}", getattr(obj.meta, attr))
        raise Unsupported(f"attribute .{attr}")

    def _shape_of(self, obj: Any) -> PyVal:
        if isinstance(obj, Src):
            return PyVal(f"tuple({obj.expr}.shape)", tuple(obj.meta.shape))
        if isinstance(obj, TVal):
            parts = ["1" if f is None else f"_F[{f}]" for f in obj.fdims]
            return PyVal("(" + "".join(p + ", " for p in parts) + ")", obj.shape)
        raise Unsupported(f"shape of a {type(obj).__name__}")

    def _op_size(self, node: fx.Node) -> PyVal:
        shape = self._shape_of(self._arg(node, 0))
        dim = self._arg(node, 1, "dim")
        if dim is None:
            return shape
        return PyVal(f"{shape.expr}[{self._py(dim)}]", shape.value[self._value(dim)])

    def _op_dim(self, node: fx.Node) -> PyVal:
        shape = self._shape_of(self._arg(node, 0))
        return PyVal(f"len({shape.expr})", len(shape.value))

    def _op_numel(self, node: fx.Node) -> PyVal:
        shape = self._shape_of(self._arg(node, 0))
        return PyVal(f"math.prod({shape.expr})", math.prod(shape.value))

    def _index_expr(self, idx: Any) -> str:
        parts = idx if isinstance(idx, tuple) else (idx,)
        out = []
        for p in parts:
            if p is None:
                out.append("None")
            elif p is Ellipsis:
                out.append("...")
            elif isinstance(p, slice):
                text = ":".join("" if x is None else self._py(x) for x in (p.start, p.stop, p.step))
                out.append(text[:-1] if text.endswith(":") and p.step is None else text)
            elif isinstance(p, (int, PyVal)) and not isinstance(p, bool):
                out.append(self._py(p))
            else:
                raise Unsupported("op getitem with a tensor index (gather) not supported")
        return ", ".join(out)

    def _bound(self, b: Any, full: int) -> str:
        """Python text of a slice bound; ``{size}`` is the sliced dim's length."""
        if not self.relative_slices or isinstance(b, bool) or not isinstance(b, int):
            return self._py(b)
        b = b + full if b < 0 else b
        if b == full:
            return "{size}"
        for den in range(1, 9):
            if b * den % full == 0:
                return f"{{size}} * {b * den // full} // {den}"
        return self._py(b)

    def _slice_tval(self, x: TVal, node: fx.Node, idx: Any) -> TVal:
        """``x[..., a:b, ...]`` with one sliced dim, pushed down to the leaves."""
        parts = idx if isinstance(idx, tuple) else (idx,)
        if any(p is None or p is Ellipsis or not isinstance(p, slice) for p in parts):
            raise Unsupported("op getitem on a computed value (only plain slices a:b)")
        sliced = [(d, p) for d, p in enumerate(parts) if p != slice(None)]
        if len(sliced) != 1 or sliced[0][1].step not in (None, 1):
            raise Unsupported("op getitem on a computed value slicing several dims or with a step")
        dim, sl = sliced[0]
        start = "0" if sl.start is None else self._bound(sl.start, x.shape[dim])
        stop = "{size}" if sl.stop is None else self._bound(sl.stop, x.shape[dim])
        return self.b.slice(x, dim, start, stop, self.metas[node].shape[dim])

    def _pieces(self, node: fx.Node, kind: str) -> Any:
        x = self._arg(node, 0)
        metas = self.metas[node]
        dim = int(self._value(self._arg(node, 2, "dim", 0)))
        arg = self._arg(node, 1, "split_size_or_sections" if kind == "split" else "chunks")
        if isinstance(x, Src):
            call = f"{x.expr}.{kind}({self._py(arg)}, {dim})"
            return tuple(Src(f"{call}[{k}]", m) for k, m in enumerate(metas))
        if not isinstance(x, TVal):
            raise Unsupported(f"op {kind} of a {type(x).__name__}")
        dim %= len(x.shape)
        if kind == "chunk":
            size = f"(-(-{{size}} // {self._py(arg)}))"
            bounds = [(f"{k} * {size}", f"{k + 1} * {size}") for k in range(len(metas))]
        elif isinstance(self._value(arg), (list, tuple)):
            edges = [0]
            for s in self._value(arg):
                edges.append(edges[-1] + int(s))
            bounds = [(self._bound(a, x.shape[dim]), self._bound(b, x.shape[dim])) for a, b in zip(edges, edges[1:])]
        else:
            full = x.shape[dim]
            bounds = [(self._bound(min(k * arg, full), full), self._bound(min((k + 1) * arg, full), full))
                      if isinstance(arg, int) else (f"{k} * {self._py(arg)}", f"{k + 1} * {self._py(arg)}")
                      for k in range(len(metas))]
        return tuple(self.b.slice(x, dim, a, b, m.shape[dim]) for (a, b), m in zip(bounds, metas))

    def _op_floordiv(self, node: fx.Node) -> PyVal:
        a, b = self._arg(node, 0), self._arg(node, 1)
        if isinstance(a, (Src, TVal)) or isinstance(b, (Src, TVal)):
            raise Unsupported("op floordiv of tensors not supported")
        return self._py_binary("floordiv", a, b)

    def _op_cat(self, node: fx.Node) -> Concat:
        pieces = [self._t(p) for p in self._arg(node, 0, "tensors")]
        dim = int(self._value(self._arg(node, 1, "dim", 0)))
        first = pieces[0]
        if any(p.shape != first.shape or p.fdims != first.fdims for p in pieces):
            raise Unsupported("op cat of differently shaped pieces not supported")
        return Concat(tuple(pieces), dim % len(first.shape))

    _op_concat = _op_cat
    _op_concatenate = _op_cat

    def _op_split(self, node: fx.Node) -> Any:
        return self._pieces(node, "split")

    def _op_chunk(self, node: fx.Node) -> Any:
        return self._pieces(node, "chunk")

    def _op_narrow(self, node: fx.Node) -> Any:
        x = self._arg(node, 0)
        dim, start, length = (self._arg(node, 1, "dim"), self._arg(node, 2, "start"), self._arg(node, 3, "length"))
        if isinstance(x, Src):
            return Src(f"{x.expr}.narrow({self._py(dim)}, {self._py(start)}, {self._py(length)})", self.metas[node])
        if not isinstance(x, TVal):
            raise Unsupported(f"op narrow of a {type(x).__name__}")
        d = int(self._value(dim)) % len(x.shape)
        a = self._py(start)
        return self.b.slice(x, d, a, f"{a} + {self._py(length)}", self.metas[node].shape[d])

    def _op_getitem(self, node: fx.Node) -> Any:
        obj, idx = self._arg(node, 0), self._resolve(node.args[1])
        if isinstance(obj, Src):
            return Src(f"{obj.expr}[{self._index_expr(idx)}]", self.metas[node])
        if isinstance(obj, TVal):
            return self._slice_tval(obj, node, idx)
        if isinstance(obj, ValuesOf):
            if self._value(idx) == 0:
                return obj.val
            raise Unsupported("op max/min indices (argmax) not supported")
        if isinstance(obj, PyVal):
            return PyVal(f"{obj.expr}[{self._py(idx)}]", obj.value[self._value(idx)])
        if isinstance(obj, (tuple, list)):
            return obj[self._value(idx)]
        raise Unsupported("op getitem (tensor indexing/slicing) not supported")

    def _math(self, fn: str, node: fx.Node) -> PyVal:
        a = self._arg(node, 0)
        if isinstance(a, (Src, TVal)):
            raise Unsupported(f"math.{fn} of a tensor")
        return PyVal(f"math.{fn}({self._py(a)})", getattr(math, fn)(self._value(a)))
