"""Kernel signatures read from CUDA source: which ``extern "C" __global__``
functions a source defines, and each parameter's declared C type.

Pure text work (no compiler, no GPU): the runtime converts launch arguments
by these declarations, and the compile-only path lists kernels with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cudarwin.types import KernelInfo

__all__ = ["KernelSignature", "Param", "find_kernels", "parse_params"]


@dataclass(frozen=True)
class Param:
    """One declared kernel parameter."""

    type: str  # normalised declared type, e.g. "const float*", "long", "__half"
    name: str = ""  # "" when the declaration names no parameter

    @property
    def is_pointer(self) -> bool:
        return "*" in self.type


@dataclass(frozen=True)
class KernelSignature:
    """A ``__global__`` function's name and parameters, as declared."""

    name: str
    params: tuple[Param, ...]

    def describe(self) -> str:
        """C-like text of the signature, for error messages."""
        inner = ", ".join(f"{p.type} {p.name}".strip() for p in self.params)
        return f"{self.name}({inner})"

    def info(self, registers: int | None = None, shared_bytes: int | None = None) -> KernelInfo:
        return KernelInfo(self.name, tuple(p.type for p in self.params), registers, shared_bytes)


_CODE_TOKENS = re.compile(
    r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|^[ \t]*#(?:\\\n|[^\n])*",
    re.S | re.M,
)


def _strip_comments(source: str) -> str:
    """Comments and preprocessor lines blanked, newlines kept; strings kept."""

    def blank(m: re.Match[str]) -> str:
        text = m.group(0)
        if text.startswith(("\"", "'")):
            return text
        return re.sub(r"[^\n]", " ", text)

    return _CODE_TOKENS.sub(blank, source)


_KERNEL = re.compile(
    r"\b__global__\s+(?:(?:__launch_bounds__\s*\([^()]*\)|__\w+__|static|inline|void)\s*)*"
    r"(?P<name>[A-Za-z_]\w*)\s*\((?P<params>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)
_EXTERN_C_BLOCK = re.compile(r"\bextern\s*\"C\"\s*\{")


def _extern_c_blocks(code: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every ``extern "C" { ... }`` block."""
    blocks = []
    for m in _EXTERN_C_BLOCK.finditer(code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        blocks.append((m.start(), i))
    return blocks


def _declaration_prefix(code: str, pos: int) -> str:
    """The text of the declaration that ends at ``pos`` (back to ; { or })."""
    start = max(code.rfind(c, 0, pos) for c in ";{}") + 1
    return code[start:pos]


def find_kernels(source: str, *, extern_c_only: bool = True) -> tuple[KernelSignature, ...]:
    """Every ``__global__`` function of ``source`` with its parameters.

    With ``extern_c_only`` (NVRTC sources), only ``extern "C"`` kernels count:
    those are the ones a module exports by their plain names. Templates are
    skipped. A kernel declared and then defined is listed once.
    """
    code = _strip_comments(source)
    blocks = _extern_c_blocks(code) if extern_c_only else []
    found: dict[str, KernelSignature] = {}
    for m in _KERNEL.finditer(code):
        prefix = _declaration_prefix(code, m.start())
        if re.search(r"\btemplate\b", prefix):
            continue
        in_block = any(a <= m.start() < b for a, b in blocks)
        if extern_c_only and not in_block and not re.search(r"\bextern\s*\"C\"", prefix):
            continue
        name = m.group("name")
        if name not in found:
            found[name] = KernelSignature(name, parse_params(m.group("params")))
    return tuple(found.values())


_TYPE_WORDS = frozenset(
    "void bool char short int long float double signed unsigned const volatile".split()
)
_QUALIFIERS = frozenset(
    "const volatile __restrict__ __restrict restrict __grid_constant__ struct".split()
)
_DROPPED = frozenset("__restrict__ __restrict restrict __grid_constant__ struct".split())
_PARAM_TOKEN = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*|\*|&|\[[^\]]*\]|<[^>]*>")


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _parse_param(text: str) -> Param:
    tokens = _PARAM_TOKEN.findall(text.split("=")[0])
    arrays = 0
    while tokens and tokens[-1].startswith("["):  # `float x[]` is a pointer
        tokens.pop()
        arrays += 1
    name = ""
    last = tokens[-1] if tokens else ""
    has_type_before = any(t not in _QUALIFIERS for t in tokens[:-1])
    if re.fullmatch(r"[A-Za-z_]\w*", last) and last not in _TYPE_WORDS and has_type_before:
        name = tokens.pop()
    words = [t for t in tokens if t not in _DROPPED] + ["*"] * arrays
    ctype = " ".join(words).replace(" *", "*").replace(" &", "&")
    return Param(ctype, name)


def parse_params(text: str) -> tuple[Param, ...]:
    """Parameters of a C parameter list (the text between the parentheses)."""
    stripped = _strip_comments(text).strip()
    if stripped in ("", "void"):
        return ()
    return tuple(_parse_param(p) for p in _split_top_level(stripped))
