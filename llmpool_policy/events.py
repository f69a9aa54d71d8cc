"""Pool events: named, plain-data payloads, handlers that can never break a request.

Payloads hold names, numbers and sanitised messages only — never a key or a message body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["EVENTS", "EventBus", "Handler"]

log = logging.getLogger("llmpool_policy.events")

EVENTS: Final[tuple[str, ...]] = (
    "request_success",
    "request_error",
    "config_changed",
    "policy_changed",
    "reload_failed",
    "breaker_opened",
    "breaker_closed",
    "providers_updated",
    "debug",
)

Handler = Callable[[Mapping[str, Any]], object]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {name: [] for name in EVENTS}

    def on(self, name: str, handler: Handler) -> None:
        if name not in self._handlers:
            raise ValueError(f"unknown event {name!r}; events: {', '.join(EVENTS)}")
        self._handlers[name].append(handler)

    def off(self, name: str, handler: Handler) -> None:
        if handler in self._handlers.get(name, []):
            self._handlers[name].remove(handler)

    def wants(self, name: str) -> bool:
        """Whether anyone listens (so a payload is built only when it will be read)."""
        return bool(self._handlers.get(name))

    def emit(self, name: str, payload: Mapping[str, Any]) -> None:
        """Call every handler; one that raises is logged and the rest still run."""
        for handler in tuple(self._handlers[name]):
            try:
                handler(payload)
            except Exception:  # a handler's bug must never fail a request
                log.exception("handler for %s raised; ignored", name)
