"""Name resolution for the static checks: what a name in a candidate refers to.

The static checks flag what reaches outside the candidate (torch internals,
the harness, the builtins), never the candidate's own objects. Telling the two
apart needs Python's scoping rules, applied here to the parsed module:

* in a function, lambda or comprehension, a name bound anywhere in the scope
  (parameter, assignment, loop target, import...) is local everywhere in it --
  Python decides this at compile time, so ``def forward(self, input)`` never
  reaches the builtin ``input``;
* a class body and the module run top to bottom: a binding hides a builtin
  only from the next top-level statement on, and only where it is
  unconditional (not under if/for/while/try/with) and the name is never
  deleted or assigned through ``global`` -- otherwise the builtin may still be
  what runs, and the name counts as possibly the builtin;
* an import binds a dotted path (``from torch import nn as m`` binds ``m`` to
  ``torch.nn``); a plain assignment of an attribute chain (``E =
  torch.cuda.Event``) or of ``type(x)`` makes the name an alias of something
  outside the candidate.

``Scopes.resolve`` answers "which bindings may this name be, and may it fall
through to the builtins"; ``Scopes.qualname`` turns an attribute chain rooted
outside the candidate into its dotted path (``torch.nn.init.xavier_uniform_``).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from enum import Enum

BUILTIN_NAMES = frozenset(dir(builtins))

# Statements whose bodies may or may not run: bindings under them do not
# reliably hide a builtin at module or class level.
_CONDITIONAL = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.Match,
                getattr(ast, "TryStar", ast.Try))
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class Origin(Enum):
    """How a binding was made."""

    IMPORT = "import"  # ``path`` is the dotted module path or module attribute
    ALIAS = "alias"  # ``value`` is an attribute chain, ``getattr`` or ``type(...)`` call
    DEF = "def"  # a function the candidate defines
    CLASS = "class"  # a class the candidate defines
    PARAM = "param"  # a function or lambda parameter
    VALUE = "value"  # anything else: the result of a call, a literal, a loop target...


@dataclass(eq=False)
class Binding:
    """One place where a name is bound."""

    origin: Origin
    stmt: int  # index of the scope-level statement holding it (module and class scopes)
    unconditional: bool  # directly in the scope's body, not under a conditional statement
    scope: "Scope"
    path: str = ""  # IMPORT: what the name stands for
    value: ast.expr | None = None  # ALIAS: the expression assigned


@dataclass(eq=False)
class Scope:
    """A module, class body, or function-like scope (function, lambda, comprehension)."""

    kind: str  # "module", "class" or "function"
    parent: "Scope | None"
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    comprehension: bool = False  # a comprehension's scope: a walrus in it binds outside


@dataclass(frozen=True)
class Resolved:
    """What a name may refer to where it is used."""

    bindings: tuple[Binding, ...]  # the candidate's bindings it may be
    fallback: bool  # it may also be a builtin (or undefined)


def _is_alias_value(value: ast.expr) -> bool:
    """An expression naming an existing object rather than computing a new one."""
    if isinstance(value, ast.Attribute):
        return _is_alias_value(value.value)
    if isinstance(value, ast.Name):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in {"type", "getattr"}
    return False


class Scopes:
    """Scope tables of one parsed module; see the module docstring for the rules."""

    def __init__(self, tree: ast.Module):
        self.module = Scope("module", None)
        self.scope_of: dict[int, Scope] = {}  # id(node) -> scope it is evaluated in
        self.stmt_of: dict[int, int] = {}  # id(node) -> statement index in its module/class scope
        self.parent: dict[int, ast.AST] = {}
        self.classes: set[str] = set()  # classes defined anywhere in the candidate
        self._top_index: dict[int, int] = {}  # id(top-level statement) -> its index
        self._assigned_global: set[str] = set()  # names assigned through `global` in a function
        _Builder(self).build(tree)

    # -- resolution
    def resolve(self, node: ast.Name) -> Resolved:
        """The bindings ``node`` may refer to, and whether it may be a builtin."""
        name, scope = node.id, self.scope_of.get(id(node), self.module)
        found: list[Binding] = []
        start, stable = scope, False
        while scope is not None:
            if scope.kind == "function":
                if name in scope.declared_global:
                    scope = self.module
                    continue
                if name in scope.bindings and name not in scope.declared_nonlocal:
                    return Resolved(tuple(scope.bindings[name]), False)
            elif scope.kind == "class" and scope is start:
                if name in scope.declared_global:
                    scope = self.module
                    continue
                stable, maybe = self._ordered(scope, name, self.stmt_of.get(id(node), 0))
                found.extend(maybe)
                if stable:
                    return Resolved(tuple(found), False)
            elif scope.kind == "module":
                stable, maybe = self._ordered(scope, name, self._module_stmt(node))
                found.extend(maybe)
                break
            scope = scope.parent
        # a name the candidate binds somewhere, and no builtin has, is the candidate's
        # (or undefined, which is an error, not a way out)
        return Resolved(tuple(found), not stable and (name in BUILTIN_NAMES or not found))

    def _ordered(self, scope: Scope, name: str, use_stmt: int) -> tuple[bool, list[Binding]]:
        """(hidden from the builtins for sure, bindings that may be seen) at statement ``use_stmt``."""
        bindings = scope.bindings.get(name, [])
        unstable = name in scope.deleted or (scope is self.module and name in self._assigned_global)
        stable = not unstable and any(b.unconditional and b.stmt < use_stmt for b in bindings)
        return stable, list(bindings)

    def _module_stmt(self, node: ast.AST) -> int:
        """Index of the top-level statement holding ``node``: a use inside a function
        runs after its ``def`` statement ran, never before."""
        n = node
        while id(n) in self.parent and not isinstance(self.parent[id(n)], ast.Module):
            n = self.parent[id(n)]
        return self._top_index.get(id(n), 0)

    def may_be_builtin(self, node: ast.Name) -> bool:
        """True where ``node`` may resolve to the builtin of that name."""
        return node.id in BUILTIN_NAMES and self.resolve(node).fallback

    # -- what lies outside the candidate
    def qualname(self, expr: ast.expr, _depth: int = 0) -> str | None:
        """Dotted path of an expression rooted outside the candidate, else None.

        ``nn.init.kaiming_uniform_`` -> ``torch.nn.init.kaiming_uniform_``;
        ``open`` (unshadowed) -> ``builtins.open``; ``self.weight`` -> None.
        """
        if _depth > 20:
            return None
        if isinstance(expr, ast.Attribute):
            base = self.qualname(expr.value, _depth + 1)
            return f"{base}.{expr.attr}" if base else None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and self.may_be_builtin(expr.func):
            if expr.func.id == "type":
                return "builtins.type()"
            if expr.func.id == "getattr" and len(expr.args) >= 2 and isinstance(expr.args[1], ast.Constant):
                base = self.qualname(expr.args[0], _depth + 1)
                return f"{base}.{expr.args[1].value}" if base else None
            return None
        if not isinstance(expr, ast.Name):
            return None
        resolved = self.resolve(expr)
        for b in resolved.bindings:
            if b.origin is Origin.IMPORT:
                return b.path
            if b.origin is Origin.ALIAS and b.value is not None:
                target = self.qualname(b.value, _depth + 1)
                if target:
                    return target
        if resolved.fallback:
            return f"builtins.{expr.id}" if expr.id in BUILTIN_NAMES else f"undefined.{expr.id}"
        return None

    def root(self, expr: ast.expr) -> ast.expr:
        """The innermost object an attribute chain starts from (``self`` in
        ``self.layers[0].conv(x)._y``; the ``super()`` call in ``super()._f``)."""
        while True:
            if isinstance(expr, (ast.Attribute, ast.Subscript)):
                expr = expr.value
            elif isinstance(expr, ast.Call) and not (isinstance(expr.func, ast.Name) and expr.func.id == "super"):
                expr = expr.func
            else:
                return expr

    def is_own_class(self, node: ast.Name) -> bool:
        """True where ``node`` names a class the candidate defines."""
        resolved = self.resolve(node)
        return not resolved.fallback and any(b.origin is Origin.CLASS for b in resolved.bindings)


class _Builder(ast.NodeVisitor):
    """One pass over the tree: scopes, bindings, and where each node lives."""

    def __init__(self, scopes: Scopes):
        self.s = scopes
        self.scope = scopes.module
        self.stmt = 0  # statement index in the current module/class scope
        self.nesting = 0  # conditional statements around the current node, in this scope

    def build(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.s.parent[id(child)] = node
        for i, stmt in enumerate(tree.body):
            self.s._top_index[id(stmt)] = i
            self.stmt = i
            self.visit(stmt)

    def visit(self, node: ast.AST) -> None:
        self.s.scope_of[id(node)] = self.scope
        self.s.stmt_of[id(node)] = self.stmt
        super().visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        conditional = isinstance(node, _CONDITIONAL)
        self.nesting += conditional
        super().generic_visit(node)
        self.nesting -= conditional

    def _bind(self, name: str, origin: Origin, *, path: str = "", value: ast.expr | None = None,
              scope: Scope | None = None) -> None:
        scope = scope or self.scope
        if name in scope.declared_global:
            scope = self.s.module
            self.s._assigned_global.add(name)
        b = Binding(origin, self.stmt, self.nesting == 0 and scope is self.scope, self.scope, path, value)
        scope.bindings.setdefault(name, []).append(b)

    # -- scopes
    def _child(self, kind: str, node: ast.AST, parts: list[ast.AST], setup=None) -> None:
        """Visit ``parts`` of ``node`` in a new scope (after binding ``setup``'s names)."""
        outer, outer_stmt, outer_nesting = self.scope, self.stmt, self.nesting
        self.scope, self.nesting = Scope(kind, outer, comprehension=isinstance(node, _COMPREHENSIONS)), 0
        if setup:
            setup()
        for part in parts:
            if kind == "class" and part in getattr(node, "body", ()):
                self.stmt = node.body.index(part)
            self.visit(part)
        self.scope, self.stmt, self.nesting = outer, outer_stmt, outer_nesting

    def _outer_parts(self, node) -> None:
        """Decorators, defaults and annotations run in the enclosing scope."""
        for dec in getattr(node, "decorator_list", []):
            self.visit(dec)
        args = node.args
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)
        if getattr(node, "returns", None) is not None:
            self.visit(node.returns)

    def _bind_args(self, args: ast.arguments) -> None:
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None:
                self._bind(arg.arg, Origin.PARAM)

    def visit_FunctionDef(self, node) -> None:
        self._outer_parts(node)
        self._bind(node.name, Origin.DEF)
        self._child("function", node, list(node.body), lambda: self._bind_args(node.args))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._outer_parts(node)
        self._child("function", node, [node.body], lambda: self._bind_args(node.args))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(child)
        self._bind(node.name, Origin.CLASS)
        self.s.classes.add(node.name)
        self._child("class", node, list(node.body))

    def _visit_comprehension(self, node) -> None:
        first, rest = node.generators[0], node.generators[1:]
        self.visit(first.iter)  # the first iterable runs in the enclosing scope
        elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]

        def setup() -> None:
            self.visit(first.target)
            for cond in first.ifs:
                self.visit(cond)

        self._child("function", node, [*rest, *elts], setup)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    # -- bindings
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self._bind(node.id, Origin.VALUE)
        elif isinstance(node.ctx, ast.Del):
            self.scope.deleted.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        if _is_alias_value(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    # replace the VALUE binding just recorded by an alias
                    self.scope_bindings(target.id).pop()
                    self._bind(target.id, Origin.ALIAS, value=node.value)

    def scope_bindings(self, name: str) -> list[Binding]:
        scope = self.s.module if name in self.scope.declared_global else self.scope
        return scope.bindings[name]

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        # a walrus inside a comprehension binds in the enclosing function or module
        self.visit(node.value)
        scope = self.scope
        while scope.comprehension and scope.parent is not None:
            scope = scope.parent
        self.s.scope_of[id(node.target)] = scope
        self._bind(node.target.id, Origin.VALUE, scope=scope)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._bind(alias.asname, Origin.IMPORT, path=alias.name)
            else:
                top = alias.name.split(".")[0]
                self._bind(top, Origin.IMPORT, path=top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name, Origin.IMPORT, path=f"{module}.{alias.name}")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name, Origin.VALUE)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)
        if self.scope is not self.s.module:
            self.s._assigned_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.scope.declared_nonlocal.update(node.names)

    def visit_MatchAs(self, node) -> None:
        if node.name:
            self._bind(node.name, Origin.VALUE)
        self.generic_visit(node)

    def visit_MatchStar(self, node) -> None:
        if node.name:
            self._bind(node.name, Origin.VALUE)

    def visit_MatchMapping(self, node) -> None:
        if node.rest:
            self._bind(node.rest, Origin.VALUE)
        self.generic_visit(node)
