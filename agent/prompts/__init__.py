"""Prompt templates (the ``*.md`` files here) and the pure functions that fill them."""

from cudarwin.agent.prompts.render import build_messages, render_review

__all__ = ["build_messages", "render_review"]
