"""Static checks on a candidate's Python source, before anything runs.

These checks are the cheap first line: they reject the usual reward hacks by
what the source says (banned modules, introspection, patched functions,
fallbacks around the custom kernel) so that the dynamic checks in the worker
only have to catch what hides at run time.

Imports are allow-listed rather than deny-listed: a candidate needs torch,
numpy, math and ``cudarwin.runtime``; everything else (threads, processes,
files, ctypes, gc, inspect...) is a way around the harness.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from cudarwin.types import Policy, Reason, ReasonItem

# Top-level modules a candidate may import. Sub-modules are matched by prefix
# (``torch.nn.functional`` is allowed because ``torch`` is).
ALLOWED_IMPORTS = frozenset(
    {"torch", "numpy", "math", "cudarwin.runtime", "typing", "functools", "itertools",
     "dataclasses", "collections", "operator", "__future__", "enum", "string", "cupy"}
)

# Modules inside allowed packages that still escape the harness.
BANNED_SUBMODULES = {
    "torch.multiprocessing": Reason.BACKGROUND_WORK,
    "torch.distributed": Reason.BACKGROUND_WORK,
    "torch.utils.data": Reason.BACKGROUND_WORK,
    "torch.profiler": Reason.TAMPERING,
    "torch.autograd.profiler": Reason.TAMPERING,
    "torch.overrides": Reason.TAMPERING,
    "torch.library": Reason.TAMPERING,
    "torch.cuda.memory": Reason.FORBIDDEN_API,
    "numpy.ctypeslib": Reason.TAMPERING,
    "cupy.cuda.runtime": Reason.TAMPERING,
    "cupy.cuda.driver": Reason.TAMPERING,
    "torch.utils.cpp_extension.load": None,  # only load_inline is accepted (see below)
}

# Modules that name their trick; anything else not allowed is FORBIDDEN_API.
_IMPORT_REASONS = {
    "threading": Reason.BACKGROUND_WORK,
    "_thread": Reason.BACKGROUND_WORK,
    "multiprocessing": Reason.BACKGROUND_WORK,
    "concurrent": Reason.BACKGROUND_WORK,
    "subprocess": Reason.BACKGROUND_WORK,
    "asyncio": Reason.BACKGROUND_WORK,
    "signal": Reason.BACKGROUND_WORK,
    "sched": Reason.BACKGROUND_WORK,
    "time": Reason.TAMPERING,
    "timeit": Reason.TAMPERING,
    "ctypes": Reason.TAMPERING,
    "cffi": Reason.TAMPERING,
    "triton": Reason.TAMPERING,
    "sys": Reason.TAMPERING,
    "builtins": Reason.TAMPERING,
    "importlib": Reason.TAMPERING,
    "gc": Reason.FORBIDDEN_API,
    "inspect": Reason.FORBIDDEN_API,
    "traceback": Reason.FORBIDDEN_API,
    "os": Reason.FORBIDDEN_API,
    "pathlib": Reason.FORBIDDEN_API,
    "shutil": Reason.FORBIDDEN_API,
    "tempfile": Reason.FORBIDDEN_API,
    "pickle": Reason.FORBIDDEN_API,
    "socket": Reason.FORBIDDEN_API,
    "io": Reason.FORBIDDEN_API,
    "mmap": Reason.FORBIDDEN_API,
    "random": Reason.FORBIDDEN_API,
    "secrets": Reason.FORBIDDEN_API,
}

# Builtins that reach around the harness: code execution, introspection, files.
_BANNED_CALLS = {
    "eval": Reason.FORBIDDEN_API,
    "exec": Reason.FORBIDDEN_API,
    "compile": Reason.FORBIDDEN_API,
    "__import__": Reason.TAMPERING,
    "open": Reason.FORBIDDEN_API,
    "globals": Reason.FORBIDDEN_API,
    "locals": Reason.FORBIDDEN_API,
    "vars": Reason.FORBIDDEN_API,
    "getattr": Reason.FORBIDDEN_API,
    "setattr": Reason.TAMPERING,
    "delattr": Reason.TAMPERING,
    "breakpoint": Reason.FORBIDDEN_API,
    "input": Reason.FORBIDDEN_API,
    "exit": Reason.EXITED,
    "quit": Reason.EXITED,
}

# Dunder attributes a kernel never needs; each is a way into the interpreter.
_ALLOWED_DUNDERS = frozenset({"__init__", "__name__", "__future__"})

# Attribute names that create streams or move work off the timed stream.
_STREAM_ATTRS = frozenset({"Stream", "stream", "ExternalStream", "set_stream", "StreamContext"})

# Names of the reference, which a candidate must not use.
_REFERENCE_NAMES = frozenset({"Model", "get_inputs", "get_init_inputs"})

# Tokens in CUDA/C++ source that touch host-side timing or processes
# (load_inline sources have host code).
_CUDA_BANNED_TOKENS = {
    "cudaEventElapsedTime": Reason.TAMPERING,
    "cudaStreamCreate": Reason.SIDE_STREAM,
    "cudaStreamCreateWithFlags": Reason.SIDE_STREAM,
    "getStreamFromPool": Reason.SIDE_STREAM,
    "std::thread": Reason.BACKGROUND_WORK,
    "pthread_create": Reason.BACKGROUND_WORK,
    "fork(": Reason.BACKGROUND_WORK,
    "dlopen": Reason.TAMPERING,
    "dlsym": Reason.TAMPERING,
    "cudaCtxResetPersistingL2Cache": Reason.TAMPERING,
    "accessPolicyWindow": Reason.TAMPERING,
    "cudaStreamSetAttribute": Reason.TAMPERING,
    "fopen": Reason.FORBIDDEN_API,
    "std::ofstream": Reason.FORBIDDEN_API,
    "std::ifstream": Reason.FORBIDDEN_API,
    "setenv": Reason.TAMPERING,
}


@dataclass(frozen=True)
class StaticReport:
    """Outcome of the static checks."""

    reasons: tuple[ReasonItem, ...]
    has_modelnew: bool

    @property
    def ok(self) -> bool:
        return not self.reasons


def check_source(source: str, *, policy: Policy = Policy.STRICT, filename: str = "candidate.py") -> StaticReport:
    """Run every static check on a candidate's source.

    Returns all problems found, not only the first, so that feedback to an
    LLM names every one.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as err:
        msg = f"{filename}:{err.lineno}: {err.msg}"
        return StaticReport((ReasonItem(Reason.SYNTAX_ERROR, msg),), False)
    visitor = _Checker(filename, policy)
    visitor.visit(tree)
    reasons = list(visitor.reasons)
    modelnew = _find_modelnew(tree)
    if modelnew is None:
        reasons.append(ReasonItem(Reason.NO_MODELNEW, f"{filename}: no `class ModelNew(nn.Module)` defined at top level"))
    else:
        reasons.extend(_check_modelnew(modelnew, filename))
    reasons.extend(_check_cuda_strings(tree, filename))
    return StaticReport(tuple(_dedupe(reasons)), modelnew is not None)


def _dedupe(items: list[ReasonItem]) -> list[ReasonItem]:
    seen: set[tuple[Reason, str]] = set()
    out = []
    for item in items:
        key = (item.code, item.message)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _find_modelnew(tree: ast.Module) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "ModelNew":
            return node
    return None


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _check_modelnew(cls: ast.ClassDef, filename: str) -> list[ReasonItem]:
    out = []
    for base in cls.bases:
        if _base_name(base) in _REFERENCE_NAMES:
            out.append(ReasonItem(Reason.REFERENCE_REUSE, f"{filename}:{cls.lineno}: ModelNew subclasses the reference `{_base_name(base)}`"))
    for node in ast.walk(cls):
        if isinstance(node, ast.Try):
            out.append(ReasonItem(
                Reason.FALLBACK,
                f"{filename}:{node.lineno}: try/except inside ModelNew: a failing kernel must fail, not fall back",
            ))
    return out


def _check_cuda_strings(tree: ast.Module, filename: str) -> list[ReasonItem]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 20:
            for token, reason in _CUDA_BANNED_TOKENS.items():
                if token in node.value:
                    out.append(ReasonItem(reason, f"{filename}:{node.lineno}: CUDA/C++ source uses `{token.rstrip('(')}`"))
    return out


class _Checker(ast.NodeVisitor):
    def __init__(self, filename: str, policy: Policy):
        self.filename = filename
        self.policy = policy
        self.reasons: list[ReasonItem] = []

    def _add(self, reason: Reason, node: ast.AST, message: str) -> None:
        self.reasons.append(ReasonItem(reason, f"{self.filename}:{getattr(node, 'lineno', '?')}: {message}"))

    # -- imports
    def _check_module(self, name: str, node: ast.AST) -> None:
        for banned, reason in BANNED_SUBMODULES.items():
            if name == banned or name.startswith(banned + "."):
                if reason is not None:
                    self._add(reason, node, f"imports `{name}`")
                return
        if any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_IMPORTS):
            return
        top = name.split(".")[0]
        self._add(_IMPORT_REASONS.get(top, Reason.FORBIDDEN_API), node, f"imports `{name}` (not on the allowed list)")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(alias.name, node)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._add(Reason.FORBIDDEN_API, node, "relative import")
        module = node.module or ""
        self._check_module(module, node)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if full in BANNED_SUBMODULES and BANNED_SUBMODULES[full] is not None:
                self._add(BANNED_SUBMODULES[full], node, f"imports `{full}`")
            if alias.name == "load" and module == "torch.utils.cpp_extension":
                self._add(Reason.FORBIDDEN_API, node, "cpp_extension.load reads files; use load_inline or load_cuda")
        self.generic_visit(node)

    # -- names and attributes
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _REFERENCE_NAMES:
            self._add(Reason.REFERENCE_REUSE, node, f"uses the reference's `{node.id}`")
        if node.id in _BANNED_CALLS and isinstance(node.ctx, ast.Load):
            self._add(_BANNED_CALLS[node.id], node, f"uses the builtin `{node.id}`")
        if node.id.startswith("__") and node.id not in _ALLOWED_DUNDERS:
            self._add(Reason.FORBIDDEN_API, node, f"uses `{node.id}`")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr.startswith("_") and attr not in _ALLOWED_DUNDERS:
            self._add(Reason.FORBIDDEN_API, node, f"accesses the private attribute `.{attr}`")
        if attr in _STREAM_ATTRS and self.policy is Policy.STRICT:
            self._add(Reason.SIDE_STREAM, node, f"uses `.{attr}`: work must run on the current stream")
        if attr in {"elapsed_time", "synchronize", "record", "perf_counter", "Event"} and isinstance(node.ctx, ast.Store):
            self._add(Reason.TAMPERING, node, f"replaces `.{attr}`")
        if attr in {"exit", "_exit", "abort", "kill"} and _base_name(node.value) in {"sys", "os"}:
            self._add(Reason.EXITED, node, f"calls `{_base_name(node.value)}.{attr}`")
        if attr in {"manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state"}:
            self._add(Reason.FORBIDDEN_API, node, f"touches the random number generator (`.{attr}`)")
        if attr in {"set_flush_denormal", "use_deterministic_algorithms", "set_float32_matmul_precision", "set_default_dtype"}:
            self._add(Reason.TAMPERING, node, f"changes global torch state (`.{attr}`)")
        self.generic_visit(node)

    # -- assignments that patch something other than the candidate's own objects
    def _check_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Attribute):
            root = target
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in {"self", "ctx"}):
                self._add(Reason.TAMPERING, target, f"assigns to `{ast.unparse(target)}`: patching modules or classes is not allowed")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._check_target(elt)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        # module-level caches written from forward are how results leak across calls
        self._add(Reason.STALE_OUTPUT, node, "`global` statement: state shared across calls")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._add(Reason.STALE_OUTPUT, node, "`nonlocal` statement: state shared across calls")
