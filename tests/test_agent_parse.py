"""Parsing model answers into candidate sources."""

from cudarwin.agent.parse import (
    Edit,
    EditError,
    Outcome,
    apply_edit,
    extract_code,
    fenced_blocks,
    parse_edits,
    parse_reply,
)
import pytest

PARENT = """import torch
class ModelNew(torch.nn.Module):
    def forward(self, x):
        BLOCK = 256
        return x * 2
"""


def fence(body: str, lang: str = "python") -> str:
    return f"```{lang}\n{body}```\n"


def test_full_file_prefers_block_with_modelnew():
    text = "Plan:\n" + fence("print('helper')\n") + "Final:\n" + fence(PARENT) + fence("x = 1\n", "cuda")
    parsed = parse_reply(text)
    assert parsed.outcome is Outcome.FULL
    assert parsed.source == PARENT


def test_longest_python_block_without_modelnew():
    block = extract_code(fence("a = 1\n") + fence("b = 2\nc = 3\n"))
    assert block is not None and block.text == "b = 2\nc = 3\n"


def test_cuda_only_block_is_not_code():
    assert parse_reply(fence("__global__ void k() {}\n", "cuda")).outcome is Outcome.NO_CODE


def test_no_code_is_reported():
    parsed = parse_reply("I think the kernel is already optimal.")
    assert parsed.outcome is Outcome.NO_CODE and not parsed.ok
    assert "```python" in parsed.problem


def test_unclosed_block_is_truncated():
    parsed = parse_reply("```python\nclass ModelNew:\n    def forward(self")
    assert parsed.outcome is Outcome.TRUNCATED and parsed.source is None


def test_length_limit_flag_is_truncated_even_with_closed_block():
    assert parse_reply(fence(PARENT), truncated=True).outcome is Outcome.TRUNCATED


def test_fenced_blocks_flags_open_block():
    blocks = fenced_blocks("```py\na\n```\n```python\nb\n")
    assert [(b.lang, b.closed) for b in blocks] == [("py", True), ("python", False)]


def test_edits_apply_to_parent():
    reply = "<<<<<<< SEARCH\n        BLOCK = 256\n=======\n        BLOCK = 512\n>>>>>>> REPLACE\n"
    parsed = parse_reply(reply, PARENT)
    assert parsed.outcome is Outcome.EDITS
    assert "BLOCK = 512" in parsed.source and "BLOCK = 256" not in parsed.source


def test_edit_with_lost_indentation_keeps_parent_indent():
    reply = "<<<<<<< SEARCH\nreturn x * 2\n=======\nreturn x + x\n>>>>>>> REPLACE\n"
    parsed = parse_reply(reply, PARENT)
    assert "        return x + x\n" in parsed.source


def test_failed_edit_is_reported_not_skipped():
    reply = "<<<<<<< SEARCH\nreturn x * 3\n=======\nreturn x\n>>>>>>> REPLACE\n"
    parsed = parse_reply(reply, PARENT)
    assert parsed.outcome is Outcome.EDIT_FAILED and parsed.source is None
    assert "edit 1 of 1" in parsed.problem and "complete file" in parsed.problem


def test_ambiguous_edit_raises():
    with pytest.raises(EditError, match="2 times"):
        apply_edit("a\nb\na\n", Edit("a\n", "c\n"))


def test_second_edit_failing_names_it():
    reply = (
        "<<<<<<< SEARCH\nBLOCK = 256\n=======\nBLOCK = 128\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n"
    )
    assert "edit 2 of 2" in parse_reply(reply, PARENT).problem


def test_edits_without_parent_fall_back_to_code_or_no_code():
    reply = "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"
    assert len(parse_edits(reply)) == 1
    assert parse_reply(reply, None).outcome is Outcome.NO_CODE


def test_cut_off_edit_is_truncated():
    assert parse_reply("<<<<<<< SEARCH\nBLOCK = 256\n=====", PARENT).outcome is Outcome.TRUNCATED
