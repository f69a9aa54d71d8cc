"""The project's typed errors.

Every failure a user can see is one of these, carrying its cause and, for policy and
configuration problems, every diagnostic at once (never just the first one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Literal, get_args

from .diagnostics import Diagnostic, render_short

__all__ = [
    "ERROR_CLASSES",
    "BudgetExceededError",
    "ConfigurationError",
    "DeadlineExceededError",
    "ErrorClass",
    "LLMPoolError",
    "NoProviderAvailableError",
    "PolicyError",
    "PolicySyntaxError",
    "ProviderError",
    "RateLimitError",
]


# The error classes shared by the policy language, the executor, the metrics and traces. One
# definition: the checker, the metrics windows and the provider adapters all read it, as the
# type ``ErrorClass`` or the tuple ``ERROR_CLASSES``.
ErrorClass = Literal[
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "bad_request",
    "auth",
    "not_found",
    "context_window",
    "content_policy",
    "invalid_response",
    "budget_exceeded",
    "cancelled",
]
ERROR_CLASSES: Final[tuple[str, ...]] = get_args(ErrorClass)


class LLMPoolError(Exception):
    """Base of every error this library raises on purpose.

    ``attempts`` lists every attempt made for the request (provider, error class, status,
    latency, sanitised message) when the error ends a request.
    """

    attempts: tuple[object, ...] = ()


class _DiagnosticError(LLMPoolError):
    def __init__(self, diagnostics: Sequence[Diagnostic], message: str | None = None) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        if message is None:
            shown = [render_short(d) for d in self.diagnostics[:5]]
            more = len(self.diagnostics) - len(shown)
            if more > 0:
                shown.append(f"... and {more} more")
            message = "\n".join(shown) if shown else self.__class__.__name__
        super().__init__(message)


class PolicyError(_DiagnosticError):
    """A policy that cannot be used: syntax, name, type or structural errors."""


class PolicySyntaxError(PolicyError):
    """The policy text does not parse."""


class ConfigurationError(_DiagnosticError):
    """A provider configuration that cannot be used."""


class ProviderError(LLMPoolError):
    """A provider answered with a failure (or not at all)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retryable: bool = False,
        error_class: str = "server_error",
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.error_class = error_class


class RateLimitError(ProviderError):
    """The provider (or our own limit for it) refused for now; ``reset_time`` is seconds."""

    def __init__(
        self, message: str, *, provider: str, status: int | None = 429, reset_time: float | None
    ) -> None:
        super().__init__(
            message, provider=provider, status=status, retryable=True, error_class="rate_limited"
        )
        self.reset_time = reset_time


class NoProviderAvailableError(LLMPoolError):
    """No candidate survived the policy's gates. ``reasons`` maps each provider to why it was
    passed over; ``retry_after`` is the seconds until the first provider held by the live gate
    (breaker cool-down, retry-after, spent rate limit) frees up (``retry_after_provider``), or
    None when none is held by the gate. The message says all of it."""

    def __init__(
        self,
        message: str,
        reasons: Mapping[str, str] | None = None,
        *,
        retry_after: float | None = None,
        retry_after_provider: str | None = None,
    ) -> None:
        self.summary = message
        self.reasons: dict[str, str] = dict(reasons or {})
        self.retry_after = retry_after
        self.retry_after_provider = retry_after_provider
        super().__init__(self._render())

    def frees_up(self, seconds: float | None, provider: str | None) -> None:
        """Set when the first provider frees up (the driver knows; decide and the executor
        do not read the clock), and say so in the message."""
        self.retry_after = seconds
        self.retry_after_provider = provider
        self.args = (self._render(),)

    def _render(self) -> str:
        text = self.summary
        if self.reasons:
            text += ": " + "; ".join(f"{p}: {why}" for p, why in self.reasons.items())
        if self.retry_after is not None:
            who = f" ({self.retry_after_provider})" if self.retry_after_provider else ""
            text += f"; the first provider frees up in {self.retry_after:.3g}s{who}"
        return text


class BudgetExceededError(LLMPoolError):
    """A budget in the policy is spent and its breach action is to deny."""


class DeadlineExceededError(LLMPoolError):
    """The policy's overall deadline passed before any attempt succeeded."""
