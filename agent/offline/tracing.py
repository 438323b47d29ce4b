"""torch.fx tracing that also records tensor factories sized by traced values.

``torch.ones(s, s)`` with ``s = x.shape[-1]`` cannot be traced by plain
``symbolic_trace`` (the factory rejects the proxy). While tracing, the
factories below are replaced by wrappers that emit a graph node when an
argument is a proxy and otherwise call the original; they are restored
afterwards. Calls from other threads meanwhile see the original behaviour.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
from torch import fx

FACTORIES = ("ones", "zeros", "full", "arange", "empty")
_LOCK = threading.Lock()


def _has_proxy(values: Any) -> bool:
    if isinstance(values, fx.Proxy):
        return True
    if isinstance(values, (list, tuple)):
        return any(_has_proxy(v) for v in values)
    if isinstance(values, dict):
        return any(_has_proxy(v) for v in values.values())
    return False


@contextmanager
def _factories_traced_by(tracer: fx.Tracer) -> Iterator[None]:
    originals: dict[str, Callable[..., Any]] = {name: getattr(torch, name) for name in FACTORIES}

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def factory(*args: Any, **kwargs: Any) -> Any:
            if _has_proxy(args) or _has_proxy(kwargs):
                return tracer.create_proxy("call_function", fn, args, kwargs)
            return fn(*args, **kwargs)

        factory.__name__ = fn.__name__
        return factory

    with _LOCK:
        for name, fn in originals.items():
            setattr(torch, name, wrap(fn))
        try:
            yield
        finally:
            for name, fn in originals.items():
                setattr(torch, name, fn)


def symbolic_trace(model: torch.nn.Module) -> fx.GraphModule:
    """``fx.symbolic_trace`` with proxy-sized tensor factories recorded as nodes."""
    tracer = fx.Tracer()
    with _factories_traced_by(tracer):
        graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph, model.__class__.__name__)
