"""How a provider reports failures to the client."""

from __future__ import annotations

from cudarwin.types import CudarwinError


class TransientError(Exception):
    """Worth retrying: 429, 5xx, timeouts, dropped connections.

    ``retry_after`` is the server's Retry-After in seconds, when it sent one.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RequestRejected(Exception):
    """The server refused this request (e.g. 400, prompt too long); retrying
    the same request will not help, but the run can go on."""


class ProviderConfigError(CudarwinError):
    """The provider cannot work as configured (bad key, unknown model, bad URL)."""


class BudgetExhausted(Exception):
    """A configured budget (calls, tokens, dollars) is spent; the run ends
    cleanly with its results kept."""
