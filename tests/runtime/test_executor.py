"""The executor, driven by a scripted driver: retries, failover, fallbacks, limits, typed errors."""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from llmpool_policy.errors import (
    BudgetExceededError,
    DeadlineExceededError,
    NoProviderAvailableError,
    ProviderError,
    RateLimitError,
)
from llmpool_policy.metrics.static import StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.runtime import Executor, Fail, Outcome, Refused, Send, Sleep, Succeed
from llmpool_policy.semantics import ProviderFacts

FACTS = [ProviderFacts(n, {"name": n, "priority": i, "timeout": 10.0}) for i, n in enumerate("abc")]

RETRY = """
retry r {
  attempts 3
  backoff exponential 1s .. 4s jitter none
  on rate_limited, server_error, timeout
  honor retry_after up to 5s
}
"""


def policy(body: str, head: str = RETRY) -> Policy:
    return Policy.from_text('policy "t"\n' + head + body, config=FACTS)


Script = Callable[[Send], Outcome | Refused]


def run(
    p: Policy, script: Script, snapshot: StaticSnapshot | None = None
) -> tuple[object, list[object]]:
    decision = p.decide(RoutingRequest(id="x"), snapshot, raise_if_unroutable=False)
    now = 0.0
    executor = Executor(decision, now=now)
    log: list[object] = []
    for _ in range(1000):
        action = executor.next_action(now)
        log.append(action)
        if isinstance(action, Succeed | Fail):
            return action, log
        if isinstance(action, Sleep):
            now += action.seconds
            continue
        outcome = script(action)
        if isinstance(outcome, Outcome):
            now += outcome.latency_s
        executor.record(outcome, now)
    raise AssertionError("the executor did not finish")


def sends(log: list[object]) -> list[tuple[str, int]]:
    return [(a.provider, a.try_number) for a in log if isinstance(a, Send)]


def test_success_first_try() -> None:
    result, log = run(
        policy("route d { use [a, b] retry r }"), lambda s: Outcome(None, 200, 0.1, response="hi")
    )
    assert isinstance(result, Succeed) and result.response == "hi"
    assert sends(log) == [("a", 1)]


def test_retries_with_exponential_backoff_then_fails_over() -> None:
    result, log = run(
        policy("route d { use [a, b] retry r }"),
        lambda s: Outcome("server_error", 500, 0.1) if s.provider == "a" else Outcome(None, 200),
    )
    assert isinstance(result, Succeed)
    assert sends(log) == [("a", 1), ("a", 2), ("a", 3), ("b", 1)]
    assert [a.seconds for a in log if isinstance(a, Sleep)] == [1.0, 2.0]
    assert [r.error_class for r in result.attempts] == ["server_error"] * 3 + [None]


def test_client_error_neither_retries_nor_fails_over() -> None:
    result, log = run(
        policy("route d { use [a, b] retry r }"), lambda s: Outcome("auth", 401, 0.05)
    )
    assert isinstance(result, Fail)
    assert sends(log) == [("a", 1)]
    assert isinstance(result.error, ProviderError)
    assert result.error.status == 401 and result.error.error_class == "auth"
    assert not result.error.retryable
    assert len(result.error.attempts) == 1


def test_fallback_keeps_counting_and_max_attempts_caps_the_chain() -> None:
    p = policy(
        "limits { max attempts 4 }\n"
        "route d { use [a] retry r on exhausted fallback e }\n"
        "route e { use [b, c] retry r }"
    )
    result, log = run(p, lambda s: Outcome("timeout", None, 1.0))
    assert isinstance(result, Fail)
    assert sends(log) == [("a", 1), ("a", 2), ("a", 3), ("b", 1)]
    assert "max attempts (4)" in str(result.error)


def test_deadline_stops_before_a_sleep_that_would_cross_it() -> None:
    p = policy("limits { deadline 3s }\nroute d { use [a, b] retry r }")
    result, log = run(p, lambda s: Outcome("server_error", 500, min(1.5, s.timeout_s)))
    assert isinstance(result, Fail) and isinstance(result.error, DeadlineExceededError)
    # a fails at 1.5s, sleeps 1s, retries with the 0.5s left and fails at 3s: the next 2s sleep
    # would cross the deadline, so the request ends there instead of sleeping in vain
    assert sends(log) == [("a", 1), ("a", 2)]
    assert [a.timeout_s for a in log if isinstance(a, Send)] == [3.0, 0.5]
    assert len(result.error.attempts) == 2


def test_per_try_timeout_shrinks_to_the_deadline() -> None:
    route = "route d { use [a, b, c] retry { attempts 1 } failover on timeout }"
    p = policy("limits { deadline 12s }\n" + route)
    result, log = run(p, lambda s: Outcome("timeout", None, s.timeout_s))
    timeouts = [a.timeout_s for a in log if isinstance(a, Send)]
    assert timeouts == [10.0, 2.0]  # c is never tried: the deadline has passed
    assert isinstance(result, Fail) and isinstance(result.error, DeadlineExceededError)


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    outcomes = iter(
        [
            Outcome("rate_limited", 429, 0.0, retry_after_s=3.0),
            Outcome("rate_limited", 429, 0.0, retry_after_s=60.0),
            Outcome(None, 200),
        ]
    )
    result, log = run(policy("route d { use [a] retry r }"), lambda s: next(outcomes))
    assert isinstance(result, Succeed)
    assert [a.seconds for a in log if isinstance(a, Sleep)] == [3.0, 5.0]


def test_refused_providers_use_no_attempt() -> None:
    result, _log = run(
        policy("limits { max attempts 1 }\nroute d { use [a, b] retry r }"),
        lambda s: Refused("breaker open") if s.provider == "a" else Outcome(None, 200),
    )
    assert isinstance(result, Succeed)
    assert [(r.provider, r.skipped) for r in result.attempts] == [("a", True), ("b", False)]


def test_everything_refused_is_no_provider_available() -> None:
    result, _ = run(policy("route d { use [a, b] }"), lambda s: Refused("rate limit spent"))
    assert isinstance(result, Fail) and isinstance(result.error, NoProviderAvailableError)
    assert result.error.reasons == {"a": "rate limit spent", "b": "rate limit spent"}


def test_last_rate_limit_gives_a_rate_limit_error_with_reset_time() -> None:
    result, _ = run(
        policy("route d { use [a] retry { attempts 1 on rate_limited } }"),
        lambda s: Outcome("rate_limited", 429, 0.0, retry_after_s=7.5),
    )
    assert isinstance(result, Fail) and isinstance(result.error, RateLimitError)
    assert result.error.reset_time == 7.5 and result.error.provider == "a"


def test_empty_decision_and_denied_budget_fail_at_once() -> None:
    snap = StaticSnapshot.from_dict({"providers": {n: {"breaker_state": "open"} for n in "abc"}})
    result, log = run(
        policy("route d { use all skip when breaker.open }"), lambda s: Outcome(None), snap
    )
    assert isinstance(result, Fail) and isinstance(result.error, NoProviderAvailableError)
    assert log == [result]
    spent = StaticSnapshot.from_dict({"budgets": {"b": {"day": 10}}})
    result, _ = run(
        policy("budget b = $5 per day\nroute d { use all }"), lambda s: Outcome(None), spent
    )
    assert isinstance(result, Fail) and isinstance(result.error, BudgetExceededError)


def test_failover_off_tries_one_provider_only() -> None:
    result, log = run(
        policy("route d { use [a, b] retry r failover off }"),
        lambda s: Outcome("server_error", 503),
    )
    assert isinstance(result, Fail)
    assert {p for p, _ in sends(log)} == {"a"}


def test_jitter_is_seeded() -> None:
    p = policy(
        "retry j { attempts 4 backoff exponential 1s .. 8s jitter full on server_error }\n"
        "route d { use [a] retry j }",
        head="",
    )
    first = [
        a.seconds for a in run(p, lambda s: Outcome("server_error", 500))[1] if isinstance(a, Sleep)
    ]
    again = [
        a.seconds for a in run(p, lambda s: Outcome("server_error", 500))[1] if isinstance(a, Sleep)
    ]
    assert first == again
    assert all(0 <= d <= cap for d, cap in zip(first, [1, 2, 4], strict=True))


ERRORS = [
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "auth",
    "bad_request",
    None,
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(ERRORS), st.floats(0, 20), st.none() | st.floats(0, 100)),
        min_size=1,
        max_size=40,
    )
)
def test_any_outcome_sequence_ends_once_within_bounds(
    script: list[tuple[str | None, float, float | None]],
) -> None:
    p = policy(
        "limits { deadline 60s max attempts 7 }\n"
        "route d { use [a, b] retry r on exhausted fallback e }\nroute e { use [c] retry r }"
    )
    outcomes = iter(script)

    def answer(send: Send) -> Outcome:
        error, latency, retry_after = next(outcomes, (None, 0.0, None))
        return Outcome(error, None, min(latency, send.timeout_s), retry_after_s=retry_after)

    _result, log = run(p, answer)
    finals = [a for a in log if isinstance(a, Succeed | Fail)]
    assert len(finals) == 1
    assert len([a for a in log if isinstance(a, Send)]) <= 7
    elapsed = sum(a.seconds for a in log if isinstance(a, Sleep))
    assert elapsed <= 60


# ---- the gate's answer: never sleep toward a retry it would refuse (issue 11) -----------------


def test_a_gate_closed_longer_than_the_backoff_fails_over_without_sleeping() -> None:
    p = policy("route d { use [a, b] retry r }")
    result, log = run(
        p,
        lambda s: (
            Outcome("server_error", 500, 0.1, available_in_s=30.0)
            if s.provider == "a"
            else Outcome(None, 200)
        ),
    )
    assert isinstance(result, Succeed)
    assert sends(log) == [("a", 1), ("b", 1)]
    assert not any(isinstance(a, Sleep) for a in log)


def test_a_gate_that_opens_within_the_backoff_is_slept_toward() -> None:
    p = policy("route d { use [a, b] retry r }")
    outcomes = iter([Outcome("server_error", 500, 0.0, available_in_s=1.0), Outcome(None, 200)])
    result, log = run(p, lambda s: next(outcomes))
    assert isinstance(result, Succeed)
    assert sends(log) == [("a", 1), ("a", 2)]
    assert [a.seconds for a in log if isinstance(a, Sleep)] == [1.0]


def test_an_unknown_gate_time_fails_over_and_the_last_error_says_why() -> None:
    p = policy("route d { use [a] retry r }")
    result, log = run(p, lambda s: Outcome("server_error", 500, 0.0, available_in_s=math.inf))
    assert isinstance(result, Fail) and isinstance(result.error, ProviderError)
    assert sends(log) == [("a", 1)]
    assert "a cannot be tried again for an unknown time" in str(result.error)
    assert result.error.retryable


def test_a_retry_past_the_deadline_moves_on_to_the_next_provider() -> None:
    p = policy("limits { deadline 3s }\nroute d { use [a, b] retry r }")
    result, log = run(
        p,
        lambda s: Outcome("server_error", 500, 2.5) if s.provider == "a" else Outcome(None, 200),
    )
    # a fails at 2.5 s; its 1 s backoff would pass 3 s, so b gets the 0.5 s that is left
    assert isinstance(result, Succeed)
    assert sends(log) == [("a", 1), ("b", 1)]
    assert [a.timeout_s for a in log if isinstance(a, Send)] == [3.0, 0.5]
