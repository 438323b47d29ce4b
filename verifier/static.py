"""Static checks on a candidate's Python source, before anything runs.

These checks are the cheap first line: they reject the usual reward hacks by
what the source says (banned modules, introspection, patched functions,
fallbacks around the custom kernel) so that the dynamic checks in the worker
only have to catch what hides at run time.

They flag cheats, not style. Every rule is scope-aware (``static_scope``):

* private attributes are a finding only on objects outside the candidate --
  torch internals (``torch._C``, ``tensor._version``), other modules, nn.Module's
  own tables -- never on the candidate's own ``self._impl``, its classes or its
  module-level names;
* a builtin (``input``, ``open``, ``eval``...) is a finding only where the name
  resolves to the builtin, not where a parameter, local or assignment hides it;
* assignments patch something only when their target is rooted outside the
  candidate (``torch.backends.cudnn.benchmark = True``, an alias of
  ``torch.cuda.Event``), not ``param.requires_grad = False``;
* imports are allow-listed (torch, numpy, ``cudarwin.runtime``, the standard
  library's plain helpers); ``os`` only for its environment and path strings.

The tables, each with the fix a rejection names, are in ``static_rules``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from cudarwin.types import Policy, Reason, ReasonItem
from cudarwin.verifier import static_rules as R
from cudarwin.verifier.static_scope import Origin, Scopes

# Re-exported: other modules (and tests) read the allow-list.
ALLOWED_IMPORTS = R.ALLOWED_IMPORTS

# Tokens in CUDA/C++ source that touch host-side timing or processes
# (load_inline sources have host code).
_CUDA_BANNED_TOKENS = {
    "cudaEventElapsedTime": (Reason.TAMPERING, "the harness does the timing; remove it"),
    "cudaStreamCreate": (Reason.SIDE_STREAM, "launch on the current stream (c10::cuda::getCurrentCUDAStream())"),
    "cudaStreamCreateWithFlags": (Reason.SIDE_STREAM, "launch on the current stream (c10::cuda::getCurrentCUDAStream())"),
    "getStreamFromPool": (Reason.SIDE_STREAM, "launch on the current stream (c10::cuda::getCurrentCUDAStream())"),
    "std::thread": (Reason.BACKGROUND_WORK, "do the work inside the call, not in a host thread"),
    "pthread_create": (Reason.BACKGROUND_WORK, "do the work inside the call, not in a host thread"),
    "fork(": (Reason.BACKGROUND_WORK, "do the work inside the call, not in another process"),
    "dlopen": (Reason.TAMPERING, "loading libraries by hand can patch the timer; link through load_inline"),
    "dlsym": (Reason.TAMPERING, "looking symbols up by hand can patch the timer; link through load_inline"),
    "cudaCtxResetPersistingL2Cache": (Reason.TAMPERING, "L2 persistence is the harness's to control; remove it"),
    "accessPolicyWindow": (Reason.TAMPERING, "L2 access-policy windows keep inputs cached across timed calls; remove it"),
    "cudaStreamSetAttribute": (Reason.TAMPERING, "stream attributes (L2 windows) are the harness's; remove it"),
    "fopen": (Reason.FORBIDDEN_API, "keep data in memory; host code must not open files"),
    "std::ofstream": (Reason.FORBIDDEN_API, "keep data in memory; host code must not open files"),
    "std::ifstream": (Reason.FORBIDDEN_API, "keep data in memory; host code must not open files"),
    "setenv": (Reason.TAMPERING, "the environment is the harness's; remove it"),
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
    LLM names every one; each message says what to change.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as err:
        msg = f"{filename}:{err.lineno}: {err.msg}"
        return StaticReport((ReasonItem(Reason.SYNTAX_ERROR, msg),), False)
    scopes = Scopes(tree)
    visitor = _Checker(filename, policy, scopes, _own_private_names(tree, scopes))
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
        if _base_name(base) in R.REFERENCE_NAMES:
            out.append(ReasonItem(Reason.REFERENCE_REUSE, f"{filename}:{cls.lineno}: ModelNew subclasses the reference "
                                  f"`{_base_name(base)}`; subclass nn.Module and write forward yourself"))
    for node in ast.walk(cls):
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            out.append(ReasonItem(
                Reason.FALLBACK,
                f"{filename}:{node.lineno}: try/except inside ModelNew: a failing kernel must fail, not fall back; "
                "remove the try (check conditions such as dtype or contiguity with `if`, or TORCH_CHECK in C++)",
            ))
    return out


def _check_cuda_strings(tree: ast.Module, filename: str) -> list[ReasonItem]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 20:
            for token, (reason, fix) in _CUDA_BANNED_TOKENS.items():
                if token in node.value:
                    out.append(ReasonItem(reason, f"{filename}:{node.lineno}: CUDA/C++ source uses "
                                                  f"`{token.rstrip('(')}`: {fix}"))
    return out


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not _is_dunder(name)


def _external(scopes: Scopes, expr: ast.expr) -> bool:
    """True where an attribute chain starts outside the candidate: an import, an
    alias of one, a builtin or an undefined name."""
    root = scopes.root(expr)
    if not isinstance(root, ast.Name):
        return False  # super(), a literal, a call's result on the candidate's objects
    resolved = scopes.resolve(root)
    if resolved.fallback:
        return True
    return any(b.origin is Origin.IMPORT or (b.origin is Origin.ALIAS and b.value is not None
                                             and scopes.qualname(b.value) is not None)
               for b in resolved.bindings)


def _direct_own(scopes: Scopes, node: ast.Attribute) -> bool:
    """``self._x``, ``cls._x``, ``OwnClass._x`` or ``super()._x``: an attribute of
    the candidate's own object itself (not of something it holds)."""
    value = node.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
        return True
    if not isinstance(value, ast.Name):
        return False
    return value.id in {"self", "cls"} and not _external(scopes, value) or scopes.is_own_class(value)


def _own_private_names(tree: ast.Module, scopes: Scopes) -> frozenset[str]:
    """Private attribute names the candidate defines itself: methods and class
    attributes of its classes, and attributes it assigns on its own objects."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    own.add(stmt.name)
                targets = stmt.targets if isinstance(stmt, ast.Assign) else (
                    [stmt.target] if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else [])
                own.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if not _external(scopes, node.value):
                own.add(node.attr)
        elif isinstance(node, ast.Call):
            name = _registered_name(node, scopes)
            if name:
                own.add(name)
    return frozenset(n for n in own if _is_private(n))


_REGISTER_METHODS = frozenset({"register_buffer", "register_parameter", "add_module", "register_module"})


def _registered_name(call: ast.Call, scopes: Scopes) -> str | None:
    """The constant name given to ``setattr(obj, "_x", v)`` or ``obj.register_buffer("_x", t)``
    (and register_parameter / add_module) on the candidate's own objects."""
    func, args = call.func, call.args
    if isinstance(func, ast.Name) and func.id == "setattr" and len(args) >= 2:
        obj, name = args[0], args[1]
    elif isinstance(func, ast.Attribute) and func.attr in _REGISTER_METHODS and args:
        obj, name = func.value, args[0]
    else:
        return None
    if isinstance(name, ast.Constant) and isinstance(name.value, str) and not _external(scopes, obj):
        return name.value
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, filename: str, policy: Policy, scopes: Scopes, own: frozenset[str]):
        self.filename = filename
        self.policy = policy
        self.scopes = scopes
        self.own = own
        self.reasons: list[ReasonItem] = []

    def _add(self, reason: Reason, node: ast.AST, message: str) -> None:
        self.reasons.append(ReasonItem(reason, f"{self.filename}:{getattr(node, 'lineno', '?')}: {message}"))

    def _parent(self, node: ast.AST) -> ast.AST | None:
        return self.scopes.parent.get(id(node))

    # -- imports
    def _check_module(self, name: str, node: ast.AST) -> None:
        for banned, (reason, fix) in R.BANNED_SUBMODULES.items():
            if name == banned or name.startswith(banned + "."):
                self._add(reason, node, f"imports `{name}`: {fix}")
                return
        if name in R.ALLOWED_PRIVATE:
            return
        if any(_is_private(part) for part in name.split(".")):
            self._add(Reason.FORBIDDEN_API, node, f"imports `{name}`, a private part of "
                      f"`{name.split('.')[0]}`: internals change global state or bypass the public ops; "
                      "use the public API")
            return
        if any(name == ok or name.startswith(ok + ".") for ok in R.ALLOWED_IMPORTS):
            if name.startswith("os.") and name != "os.path" and name not in R.OS_ALLOWED:
                self._os_finding(name, node)
            return
        reason, fix = R.IMPORT_RULES.get(name.split(".")[0], (
            Reason.FORBIDDEN_API, "not on the allowed list (torch, numpy, cupy, cudarwin.runtime, math, "
                                  "functools, dataclasses, typing...); remove it"))
        self._add(reason, node, f"imports `{name}`: {fix}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._add(Reason.FORBIDDEN_API, node, "relative import: a candidate is one file; import only "
                                                  "allowed packages")
            return
        module = node.module or ""
        before = len(self.reasons)
        self._check_module(module, node)
        if len(self.reasons) > before:
            return
        for alias in node.names:
            if alias.name == "*":
                if module == "os" or module.startswith("os."):
                    self._add(Reason.FORBIDDEN_API, node, f"`from {module} import *` brings in os's file and "
                              f"process functions: import the names you use ({R.OS_HINT})")
                continue
            self._check_module(f"{module}.{alias.name}", node)

    # -- names and attributes
    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name in R.REFERENCE_NAMES and self._not_own(node):
            self._add(Reason.REFERENCE_REUSE, node, f"uses the reference's `{name}`: write ModelNew from scratch")
        if isinstance(node.ctx, ast.Load) and name in R.BUILTIN_RULES and self.scopes.may_be_builtin(node):
            if not self._builtin_call_ok(node):
                reason, fix = R.BUILTIN_RULES[name]
                self._add(reason, node, f"calls the builtin `{name}`: {fix}")
        if _is_dunder(name) and name not in R.HARMLESS_DUNDERS and name != "__import__":
            self._add(Reason.FORBIDDEN_API, node, f"uses `{name}`: dunders reach the interpreter's internals; "
                                                  "use ordinary names and attributes")
        self._check_chain(node)

    def _not_own(self, node: ast.Name) -> bool:
        resolved = self.scopes.resolve(node)
        return resolved.fallback or any(b.origin is Origin.IMPORT for b in resolved.bindings)

    def _safe_attr_name(self, arg: ast.expr) -> bool:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return False
        name = arg.value
        if _is_dunder(name):
            return name in R.HARMLESS_DUNDERS
        if name in R.READABLE_PRIVATE:
            return True
        return not _is_private(name) or (name in self.own and name not in R.torch_private_names()[1])

    def _builtin_call_ok(self, node: ast.Name) -> bool:
        """getattr with a constant public name is attribute access; setattr and
        delattr likewise when the object is self."""
        call = self._parent(node)
        if not (isinstance(call, ast.Call) and call.func is node and len(call.args) >= 2):
            return False
        if not self._safe_attr_name(call.args[1]):
            return False
        if node.id == "getattr":
            return True
        if node.id in {"setattr", "delattr"}:
            target = call.args[0]
            return isinstance(target, ast.Name) and target.id == "self" and not _external(self.scopes, target)
        return False

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if _is_dunder(attr) and attr not in R.HARMLESS_DUNDERS:
            self._add(Reason.FORBIDDEN_API, node, f"accesses `.{attr}`: dunders reach the interpreter's internals "
                                                  "(namespaces, classes, frames); use ordinary attributes")
        elif _is_private(attr):
            self._check_private(node)
        if attr in R.STREAM_ATTRS and self.policy is Policy.STRICT:
            self._add(Reason.SIDE_STREAM, node, f"uses `.{attr}`: work must run on the current stream; "
                                                "launch without a stream argument (or on torch.cuda.current_stream())")
        if attr in R.TIMER_ATTRS and isinstance(node.ctx, ast.Store) and not _direct_own(self.scopes, node):
            self._add(Reason.TAMPERING, node, f"replaces `.{attr}`: patching the timer is tampering; remove it")
        if attr in R.RNG_ATTRS and (attr != "seed" or _external(self.scopes, node.value)):
            self._add(Reason.FORBIDDEN_API, node, f"touches the random number generator (`.{attr}`): {R._RNG}")
        if attr in R.GLOBAL_STATE_ATTRS:
            self._add(Reason.TAMPERING, node, f"changes global torch state (`.{attr}`): it leaks into other "
                                              "measurements and the harness pins it; remove it")
        if attr in R.FILE_ATTRS:
            self._add(Reason.FORBIDDEN_API, node, f"`.{attr}` writes a file: {R._FILES}")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._check_target(node)
        self._check_chain(node)
        self.generic_visit(node)

    def _check_private(self, node: ast.Attribute) -> None:
        attr = node.attr
        qual = self.scopes.qualname(node)
        if qual in R.ALLOWED_PRIVATE:
            return
        module_internals, torch_private = R.torch_private_names()
        if _external(self.scopes, node.value):
            if isinstance(node.value, ast.Attribute) and _is_private(node.value.attr):
                return  # the chain's first private part is reported once
            shown = qual or ast.unparse(node)
            self._add(Reason.FORBIDDEN_API, node, f"accesses `{shown}`, a private part of `{shown.split('.')[0]}`: "
                      "internals change global state or bypass the public ops; use the public API")
        elif _direct_own(self.scopes, node):
            if attr in module_internals:
                self._add(Reason.FORBIDDEN_API, node, f"`.{attr}` is nn.Module's internal (how the harness loads "
                          "weights and calls the model): use the public API (parameters(), register_buffer, "
                          "named_modules...) or give your attribute another name")
            elif attr not in self.own:
                self._add(Reason.FORBIDDEN_API, node, f"accesses `.{attr}`, which the candidate never defines: "
                          "define it on self first, or use the public API")
        elif attr in R.READABLE_PRIVATE and isinstance(node.ctx, ast.Load):
            return
        elif attr in torch_private or attr not in self.own:
            self._add(Reason.FORBIDDEN_API, node, f"accesses `{ast.unparse(node)}`: `.{attr}` is a private "
                      "attribute of an object the candidate did not define (a torch internal); use the public API, "
                      "or keep your own state on self")

    def _check_chain(self, node: ast.expr) -> None:
        """Rules on the dotted path of a whole chain (``torch.save``, ``os.path.join``)."""
        parent = self._parent(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return  # the outermost attribute of the chain is checked instead
        qual = self.scopes.qualname(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if not qual or (isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)):
            return
        if qual == "os" or qual.startswith("os."):
            self._check_os(qual, node, parent)
            return
        for prefix, (reason, fix) in R.CALL_RULES.items():
            if qual == prefix or qual.startswith(prefix + "."):
                self._add(reason, node, f"uses `{qual}`: {fix}")
                return
        if qual in {"operator.attrgetter", "operator.methodcaller"}:
            call = parent if isinstance(parent, ast.Call) and parent.func is node else None
            if call is None or not call.args or not all(self._safe_attr_name(a) for a in call.args[:1 if
                                                        qual.endswith("methodcaller") else None]):
                self._add(Reason.FORBIDDEN_API, node, f"`{qual}` with a computed or private name can reach "
                                                      "anything; write `obj.name`")

    def _check_os(self, qual: str, node: ast.expr, parent: ast.AST | None) -> None:
        if qual == "os.environ":
            if isinstance(parent, ast.Subscript) and parent.value is node:
                if isinstance(parent.ctx, ast.Load):
                    return
                key = parent.slice
                if isinstance(parent.ctx, ast.Store) and isinstance(key, ast.Constant) and key.value in R.OS_ENV_WRITABLE:
                    return
                self._add(Reason.TAMPERING, node, f"sets or deletes `os.environ[{ast.unparse(key)}]`: the environment "
                          f"is read by the harness and its compiler (LD_PRELOAD, PATH, CXX...); {R.OS_HINT}")
                return
            if isinstance(parent, ast.Compare) or (
                    isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "dict"):
                return
            self._add(Reason.FORBIDDEN_API, node, f"uses `os.environ` as a value: read it with os.environ[...] "
                                                  "or .get, or copy it with dict(os.environ)")
            return
        if qual in R.OS_ENV_SETTERS:
            call = parent if isinstance(parent, ast.Call) and parent.func is node else None
            key = call.args[0] if call is not None and call.args else None
            if isinstance(key, ast.Constant) and key.value in R.OS_ENV_WRITABLE:
                return
            self._add(Reason.TAMPERING, node, f"`{qual}` of a variable outside the build's: {R.OS_HINT}")
            return
        if qual in R.OS_ALLOWED:
            return
        self._os_finding(qual, node)

    def _os_finding(self, qual: str, node: ast.AST) -> None:
        last = qual.split(".")[-1]
        if qual == "os":
            self._add(Reason.FORBIDDEN_API, node, f"uses the os module as a value: {R.OS_HINT}")
        elif last in {"_exit", "abort", "kill", "killpg"}:
            self._add(Reason.EXITED, node, f"calls `{qual}`: it ends or signals a process; raise an exception instead")
        elif last in R.OS_PROCESS or last.startswith(("exec", "spawn")):
            self._add(Reason.BACKGROUND_WORK, node, f"calls `{qual}`: {R._BACKGROUND}")
        elif last in {"environ", "putenv", "unsetenv"} or qual.startswith("os.environ."):
            self._add(Reason.TAMPERING, node, f"`{qual}` changes the environment the harness and its compiler "
                                              f"read; {R.OS_HINT}")
        else:
            self._add(Reason.FORBIDDEN_API, node, f"uses `{qual}`: {R._FILES}; {R.OS_HINT}")

    # -- assignments that patch something other than the candidate's own objects
    def _check_target(self, target: ast.Attribute | ast.Subscript) -> None:
        if not _external(self.scopes, target.value):
            return
        shown = ast.unparse(target)
        qual = self.scopes.qualname(target.value) or ""
        if isinstance(target, ast.Subscript) and qual == "os.environ":
            return  # judged by the os rules
        if any(qual == p or qual.startswith(p + ".") for p in R.CALL_RULES):
            return  # the chain's own rule names it
        if qual.startswith("torch.backends") or qual.startswith("torch._C"):
            self._add(Reason.TAMPERING, target, f"assigns to `{shown}`: a global torch flag leaks into other "
                      "measurements and the harness pins these flags for candidate and baselines alike; remove it "
                      "(compute in the precision the task asks for)")
        else:
            self._add(Reason.TAMPERING, target, f"assigns to `{shown}`, part of `{qual or shown.split('.')[0]}` "
                      "outside the candidate: patching modules or classes is tampering; keep your state on self "
                      "or in your own objects")

    def visit_Call(self, node: ast.Call) -> None:
        qual = self.scopes.qualname(node.func) or ""
        if qual.endswith("cpp_extension.load_inline") and any(k.arg == "build_directory" for k in node.keywords):
            self._add(Reason.FORBIDDEN_API, node, "load_inline(build_directory=...) builds outside the candidate's "
                      "private directory (a shared build cache is how results persist between runs); leave it out")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._check_target(node)
        self.generic_visit(node)
