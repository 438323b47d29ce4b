"""Turning a model's text answer into a candidate source: pure functions.

Two answer forms are understood:

* a full file in a fenced code block (```python ... ```), preferably the block
  that defines ``class ModelNew``;
* SEARCH/REPLACE edits against the parent::

      <<<<<<< SEARCH
      old lines
      =======
      new lines
      >>>>>>> REPLACE

Nothing is skipped silently: an answer without code, an edit whose SEARCH
text is not in the parent, or a cut-off answer comes back as a
:class:`Parsed` with ``source=None`` and a ``problem`` to tell the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*$", re.MULTILINE)
_EDIT = re.compile(
    r"^<{5,9} ?SEARCH[ \t]*\n(.*?)^={5,9}[ \t]*\n(.*?)^>{5,9} ?REPLACE[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_EDIT_START = re.compile(r"^<{5,9} ?SEARCH", re.MULTILINE)
_CODE_LANGS = {"", "python", "py", "python3"}


class Outcome(str, Enum):
    """How an answer was understood."""

    FULL = "full"  # a complete file
    EDITS = "edits"  # SEARCH/REPLACE edits applied to the parent
    NO_CODE = "no_code"  # neither a code block nor edits
    EDIT_FAILED = "edit_failed"  # an edit did not apply
    TRUNCATED = "truncated"  # the answer was cut off


@dataclass(frozen=True)
class Block:
    """One fenced block of an answer."""

    lang: str
    text: str
    closed: bool  # False when the answer ended inside the block


@dataclass(frozen=True)
class Edit:
    search: str
    replace: str


@dataclass(frozen=True)
class Parsed:
    """The result of parsing one answer."""

    outcome: Outcome
    source: str | None = None  # the candidate file, when there is one
    problem: str = ""  # what to tell the model when there is none

    @property
    def ok(self) -> bool:
        return self.source is not None


class EditError(ValueError):
    """An edit whose SEARCH text does not occur (exactly once) in the source."""


def fenced_blocks(text: str) -> list[Block]:
    """All fenced blocks in order; an unterminated last block is returned with
    ``closed=False``."""
    blocks: list[Block] = []
    fences = list(_FENCE.finditer(text))
    i = 0
    while i < len(fences):
        opening = fences[i]
        if i + 1 < len(fences):
            closing = fences[i + 1]
            blocks.append(Block(opening.group(1).lower(), text[opening.end() + 1 : closing.start()], True))
            i += 2
        else:
            blocks.append(Block(opening.group(1).lower(), text[opening.end() + 1 :], False))
            i += 1
    return blocks


def extract_code(text: str) -> Block | None:
    """The block holding the candidate: the last Python block that defines
    ``ModelNew``, else the longest Python block, else None."""
    blocks = [b for b in fenced_blocks(text) if b.lang in _CODE_LANGS and b.text.strip()]
    with_model = [b for b in blocks if "class ModelNew" in b.text]
    if with_model:
        return with_model[-1]
    if blocks:
        return max(blocks, key=lambda b: len(b.text))
    return None


def parse_edits(text: str) -> list[Edit]:
    """The SEARCH/REPLACE edits of an answer, in order."""
    return [Edit(m.group(1), m.group(2)) for m in _EDIT.finditer(text)]


def apply_edit(source: str, edit: Edit) -> str:
    """Apply one edit; the SEARCH text must occur exactly once, compared
    exactly or, failing that, line by line ignoring trailing whitespace and
    indentation differences."""
    count = source.count(edit.search)
    if count == 1:
        return source.replace(edit.search, edit.replace, 1)
    if count > 1:
        raise EditError(f"the SEARCH text occurs {count} times; include more lines to make it unique")
    return _apply_loose(source, edit)


def _apply_loose(source: str, edit: Edit) -> str:
    lines = source.splitlines(keepends=True)
    wanted = [ln.strip() for ln in edit.search.splitlines()]
    while wanted and not wanted[-1]:
        wanted.pop()
    if not wanted:
        raise EditError("the SEARCH section is empty")
    hits = [i for i in range(len(lines) - len(wanted) + 1) if [ln.strip() for ln in lines[i : i + len(wanted)]] == wanted]
    if len(hits) != 1:
        first = wanted[0][:80]
        why = "does not occur" if not hits else f"occurs {len(hits)} times"
        raise EditError(f"the SEARCH text starting with {first!r} {why} in the parent")
    start = hits[0]
    replacement = _reindent(edit.replace, _indent_delta(edit.search, lines[start]))
    if replacement and not replacement.endswith("\n"):
        replacement += "\n"
    return "".join(lines[:start]) + replacement + "".join(lines[start + len(wanted) :])


def _indent_delta(search: str, matched_line: str) -> str:
    """Indentation the parent has beyond the SEARCH text (models often drop it)."""
    first = next(ln for ln in search.splitlines() if ln.strip())
    have = len(matched_line) - len(matched_line.lstrip())
    given = len(first) - len(first.lstrip())
    return matched_line[: have - given] if have > given else ""


def _reindent(text: str, prefix: str) -> str:
    if not prefix:
        return text
    return "".join(prefix + ln if ln.strip() else ln for ln in text.splitlines(keepends=True))


def apply_edits(source: str, edits: list[Edit]) -> str:
    """Apply edits in order; raises EditError naming the first that fails."""
    for number, edit in enumerate(edits, 1):
        try:
            source = apply_edit(source, edit)
        except EditError as err:
            raise EditError(f"edit {number} of {len(edits)}: {err}") from None
    return source


def parse_reply(text: str, parent: str | None = None, *, truncated: bool = False) -> Parsed:
    """Understand one answer. ``parent`` is the source edits apply to;
    ``truncated`` is True when the API reported the length limit."""
    edits = parse_edits(text)
    if edits and parent is not None:
        if truncated:
            return Parsed(Outcome.TRUNCATED, problem=_TRUNCATED)
        try:
            return Parsed(Outcome.EDITS, apply_edits(parent, edits))
        except EditError as err:
            return Parsed(Outcome.EDIT_FAILED, problem=f"{err}. Reply with the complete file in one ```python block instead.")
    block = extract_code(text)
    if truncated or (block is not None and not block.closed) or (block is None and not edits and _EDIT_START.search(text)):
        return Parsed(Outcome.TRUNCATED, problem=_TRUNCATED)
    if block is None:
        return Parsed(Outcome.NO_CODE, problem=_NO_CODE)
    return Parsed(Outcome.FULL, block.text.rstrip() + "\n")


_TRUNCATED = (
    "Your answer was cut off before the code ended. Reply with the complete file in one "
    "```python block, with fewer comments and no explanation."
)
_NO_CODE = (
    "Your answer contained no code. Reply with the complete candidate file (defining "
    "class ModelNew) in one ```python block."
)
