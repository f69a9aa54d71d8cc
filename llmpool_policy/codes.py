"""Every diagnostic code the policy tooling can emit, with a one-line title.

Codes are stable (``E`` errors, ``W`` warnings, ``N`` notes): tools and CI scripts match on
them. docs/diagnostics.md has an entry with a failing and a fixed example for each, and
tests/policies/broken/ a policy that triggers each.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CODES", "IO_CODES", "title"]

CODES: Final[dict[str, str]] = {
    # syntax
    "E001": "unexpected token",
    "E002": "unexpected end of file",
    "E003": "invalid character or unterminated string",
    "E004": "expression nested too deeply",
    "E005": "policy too large",
    "E006": "number out of range",
    "E009": "the policy file cannot be read",
    # names
    "E101": "unknown provider",
    "E102": "unknown group",
    "E103": "unknown retry policy",
    "E104": "unknown breaker",
    "E105": "unknown route",
    "E106": "unknown attribute",
    "E107": "unknown metric or function",
    "E108": "unknown error class",
    "E109": "unknown bound in assert",
    "E110": "duplicate name",
    "E111": "setting given twice",
    "E112": "name is both a provider and a group",
    "E113": "reserved name",
    # types and units
    "E201": "type or unit mismatch",
    "E202": "condition is not true/false",
    "E203": "wrong metric window",
    "E204": "value not available in this context",
    "E205": "not a provider name",
    "E206": "'in' needs a list or a string on the right",
    "E207": "window longer than the metrics keep",
    # values
    "E301": "duration must be positive",
    "E302": "split weights must sum to 100%",
    "E303": "count must be at least 1",
    "E304": "backoff base is larger than its cap",
    "E305": "percentage out of range",
    "E306": "invalid HTTP status code",
    "E307": "amount of money must be positive",
    # structure
    "E401": "route can never match",
    "E402": "no catch-all route",
    "E403": "fallback cycle",
    "E404": "assertion on bounds fails",
    "E405": "split arm is not among the route's candidates",
    "E406": "a per-provider budget cannot fall back to a route",
    # warnings
    "W101": "declared but never used",
    "W102": "route repeats an earlier route's condition",
    "W103": "policy has no header",
    "W104": "provider set is empty",
    "W105": "retrying or failing over on errors the request itself caused",
    "W106": "bound is unknown without a provider config",
    "W107": "policy overrides a value the config writes out",
    "W108": "split overrides the route's order",
    "W109": "order key is the same for every provider",
    "W110": "an allow comment that allows nothing",
    # notes
    "N101": "order key can be unknown and does not say where unknown sorts",
    "N102": "failover on statuses leaves out timeouts and connection errors",
}

# Codes about reading a file, not its text: no policy in tests/policies/broken/ can show them.
IO_CODES: Final[frozenset[str]] = frozenset({"E009"})


def title(code: str) -> str:
    return CODES[code]
