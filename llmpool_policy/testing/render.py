"""A decision as snapshot text: one fact per line, in a fixed order, so that a change in a
policy shows in review as the few lines whose decisions it changed.

Unlike ``Decision.explain()`` it leaves out what moves without a change in meaning (order-key
values of kept providers, the seed) and keeps what a reviewer must see: the route, the plan in
order with the route of each attempt, every provider removed or avoided and why (with the values
that made the rule true), split draws, a denial, the limits.
"""

from __future__ import annotations

from typing import Any

from ..decision import Decision, format_duration
from ..money import format_money

__all__ = ["render_decision"]


def render_decision(decision: Decision) -> str:
    """The snapshot text of a decision made with ``trace=True``."""
    lines = [f"route: {decision.route if decision.route is not None else '(none matched)'}"]
    if decision.denied is not None:
        lines.append(f"denied: {decision.denied}")
    lines.append("plan:")
    n = 0
    for plan in decision.plans:
        for a in plan.attempts:
            n += 1
            lines.append(
                f"  {n}. {a.provider} via {plan.route} ({a.tries} "
                f"{'try' if a.tries == 1 else 'tries'}, timeout {format_duration(a.timeout_s)})"
            )
    if n == 0:
        lines.append("  (empty: no provider available)" if decision.denied is None else "  (none)")
    trace = decision.trace
    if trace is not None:
        removed = [(c, c.excluded) for c in trace.candidates if c.excluded is not None]
        avoided = [(c, c.avoided) for c in trace.candidates if c.avoided is not None]
        if removed:
            lines.append("excluded:")
            lines.extend(
                f"  - {c.provider} in {c.route}: {why}{_values(c.values, why)}"
                for c, why in removed
            )
        if avoided:
            lines.append("avoided (tried last):")
            lines.extend(
                f"  ~ {c.provider} in {c.route}: {why}{_values(c.values, why)}"
                for c, why in avoided
            )
        for s in trace.splits:
            lines.append(f"split in {s.route}: key {s.key!r} drew {s.draw:.4f} -> {s.arm}")
        for b in trace.budgets:
            if b.breached:
                who = f" for {b.key}" if b.key is not None else ""
                lines.append(
                    f"budget {b.budget}{who}: {format_money(b.spent)} of "
                    f"{format_money(b.amount)} -> {b.action}"
                )
    limits = [
        f"deadline {format_duration(decision.deadline_s)}"
        if decision.deadline_s is not None
        else "",
        f"max attempts {decision.max_attempts}" if decision.max_attempts is not None else "",
        f"max cost {format_money(decision.max_cost)}" if decision.max_cost is not None else "",
    ]
    lines.append("limits: " + (", ".join(x for x in limits if x) or "none"))
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _values(values: tuple[tuple[str, Any], ...], reason: str) -> str:
    """The values the rule read; reads of earlier rules (a skip before an avoid) are left out."""
    values = tuple((k, v) for k, v in values if k in reason)
    if not values:
        return ""
    return " [" + ", ".join(f"{k}={_show(v)}" for k, v in values) + "]"
