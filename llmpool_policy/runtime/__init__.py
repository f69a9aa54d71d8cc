"""The executor: runs a Decision as attempts, sleeps and a final result — sans-I/O."""

from __future__ import annotations

from .executor import (
    AttemptRecord,
    Executor,
    Fail,
    Outcome,
    Refused,
    Send,
    Sleep,
    Succeed,
)

__all__ = ["AttemptRecord", "Executor", "Fail", "Outcome", "Refused", "Send", "Sleep", "Succeed"]
