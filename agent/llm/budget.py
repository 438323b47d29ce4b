"""Token usage, cost and budgets of a run's LLM calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from cudarwin.agent.llm.errors import BudgetExhausted


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


@dataclass(frozen=True)
class Budget:
    """Limits for a run; None means unlimited."""

    max_calls: int | None = None
    max_tokens: int | None = None
    max_dollars: float | None = None


@dataclass
class ModelUsage:
    calls: int = 0
    cached: int = 0  # calls answered from the cache (not sent)
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Usage:
    """Running totals per model. Replayed (cached) calls count against the
    budget too, so a resumed run stops exactly where the original would have."""

    budget: Budget = field(default_factory=Budget)
    per_model: dict[str, ModelUsage] = field(default_factory=dict)

    def total(self) -> ModelUsage:
        out = ModelUsage()
        for u in self.per_model.values():
            out.calls += u.calls
            out.cached += u.cached
            out.failed += u.failed
            out.prompt_tokens += u.prompt_tokens
            out.completion_tokens += u.completion_tokens
            out.cost_usd += u.cost_usd
        return out

    def record(self, model: str, prompt_tokens: int, completion_tokens: int, cost: float, *, cached: bool, failed: bool = False) -> None:
        u = self.per_model.setdefault(model, ModelUsage())
        u.calls += 1
        u.cached += int(cached)
        u.failed += int(failed)
        u.prompt_tokens += prompt_tokens
        u.completion_tokens += completion_tokens
        u.cost_usd += cost

    def exhausted(self) -> str:
        """Which budget is spent ("" if none)."""
        t, b = self.total(), self.budget
        if b.max_calls is not None and t.calls >= b.max_calls:
            return f"llm.budget.max_calls={b.max_calls} reached"
        if b.max_tokens is not None and t.tokens >= b.max_tokens:
            return f"llm.budget.max_tokens={b.max_tokens} reached ({t.tokens} used)"
        if b.max_dollars is not None and t.cost_usd >= b.max_dollars:
            return f"llm.budget.max_dollars={b.max_dollars} reached (${t.cost_usd:.4f} spent)"
        return ""

    def check(self) -> None:
        """Raise BudgetExhausted when a budget is spent."""
        why = self.exhausted()
        if why:
            raise BudgetExhausted(why)
