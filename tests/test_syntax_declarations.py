"""Layer 2: every declaration and route statement parses to its AST node."""

from __future__ import annotations

from llmpool_policy.syntax import ast, parse

FULL = """
policy "production"  # a name for reports
group frontier = [openai-gpt4o, anthropic-sonnet]
group fast = providers where type in ["groq", "together"]
group everyone = all
retry standard {
  attempts 3
  backoff exponential 500ms .. 8s jitter full
  on rate_limited, 429, 5xx, 500..504
  honor retry_after up to 20s, cool down at most 10m
}
breaker default {
  open after 5 failures within 1m
  open at 50% errors within 1m min 20 requests
  cool down 30s, extend on failure up to 5m
  probe 2
  count server_error, timeout
}
limits { deadline 60s  max attempts 6  max cost $0.50 per request }
budget team_daily = $100 per day per request.metadata.team on breach fallback cheap
budget global = $1000 per month
assert max_calls <= 12
route vision when request.images > 0 {
  use providers where supports.vision
  skip when breaker.open
  avoid when latency.p95(5m) > 3s
  order by cost, success_rate(5m) desc, latency.p50 asc
  retry { attempts 2 }
  breaker default
  failover on rate_limited, timeout
  timeout 20s
  limits { deadline 30s }
  assert max_time <= 30s
}
route canary when request.metadata.tenant == "acme" {
  split openai-gpt4o 90%, anthropic-sonnet 10% by request.user
  failover off
  on exhausted fallback cheap
}
route cheap {
  use fast
  retry standard
}
"""


def test_every_construct() -> None:
    policy = parse(FULL, "full.policy")
    assert policy.name == "production"
    kinds = [type(d).__name__ for d in policy.decls]
    assert kinds == [
        "PolicyHeader", "GroupDecl", "GroupDecl", "GroupDecl", "RetryDecl", "BreakerDecl",
        "LimitsDecl", "BudgetDecl", "BudgetDecl", "Assert", "RouteDecl", "RouteDecl", "RouteDecl",
    ]  # fmt: skip
    groups = [d for d in policy.decls if isinstance(d, ast.GroupDecl)]
    assert isinstance(groups[0].value, ast.GroupList)
    assert isinstance(groups[1].value, ast.Selector)
    assert isinstance(groups[2].value, ast.AllProviders)

    retry = next(d for d in policy.decls if isinstance(d, ast.RetryDecl))
    attempts, backoff, on, honor = retry.body.settings
    assert isinstance(attempts, ast.Attempts) and attempts.count.value == 3
    assert isinstance(backoff, ast.Backoff)
    assert (backoff.kind, backoff.base.seconds(), backoff.jitter) == ("exponential", 0.5, "full")
    assert backoff.cap is not None and backoff.cap.seconds() == 8.0
    assert isinstance(on, ast.RetryOn)
    assert on.items == (
        ast.ErrorClass("rate_limited"),
        ast.StatusCode(429),
        ast.StatusClass(5),
        ast.StatusRange(500, 504),
    )
    assert isinstance(honor, ast.HonorRetryAfter) and honor.cap is not None
    assert honor.cool_down_cap is not None and honor.cool_down_cap.seconds() == 600.0

    breaker = next(d for d in policy.decls if isinstance(d, ast.BreakerDecl))
    count, rate, cool, probe, count_on = breaker.settings
    assert isinstance(count, ast.OpenAfter) and count.window.seconds() == 60
    assert isinstance(rate, ast.OpenAtRate) and rate.rate.value == 0.5
    assert rate.min_requests is not None and rate.min_requests.value == 20
    assert isinstance(cool, ast.CoolDown) and cool.extend and cool.extend_cap is not None
    assert isinstance(probe, ast.Probe) and probe.count.value == 2
    assert isinstance(count_on, ast.CountOn) and len(count_on.items) == 2

    limits = next(d for d in policy.decls if isinstance(d, ast.LimitsDecl))
    assert [type(s).__name__ for s in limits.settings] == ["Deadline", "MaxAttempts", "MaxCost"]

    budget, global_budget = [d for d in policy.decls if isinstance(d, ast.BudgetDecl)]
    assert budget.period == "day" and budget.amount.value == 100.0
    assert budget.key == ast.Path(("request", "metadata", "team"))
    assert isinstance(budget.breach, ast.BreachFallback) and budget.breach.route.value == "cheap"
    assert global_budget.key is None and global_budget.breach is None

    vision, canary, cheap = policy.routes
    assert [type(s).__name__ for s in vision.body] == [
        "Use", "Skip", "Avoid", "OrderBy", "RetryInline", "BreakerRef", "Failover", "Timeout",
        "LimitsDecl", "Assert",
    ]  # fmt: skip
    split = canary.body[0]
    assert isinstance(split, ast.Split)
    assert [(a.provider.value, a.weight.value) for a in split.arms] == [
        ("openai-gpt4o", 0.9),
        ("anthropic-sonnet", 0.1),
    ]
    assert split.by == ast.Path(("request", "user"))
    assert canary.body[1] == ast.Failover(None)
    assert cheap.condition is None


def test_comments_are_kept_with_positions() -> None:
    text = '# head\npolicy "p" # tail\nroute r { use all } # "not a string"\n'
    policy = parse(text)
    assert [c.text for c in policy.comments] == ["# head", "# tail", '# "not a string"']
    assert [(c.span.line, c.span.column) for c in policy.comments] == [(1, 1), (2, 12), (3, 21)]


def test_hash_inside_string_is_not_a_comment() -> None:
    policy = parse('route r when request.user == "a#b" { use all }')
    assert policy.comments == ()


def test_newlines_are_not_significant() -> None:
    one_line = parse("retry r { attempts 2 backoff constant 1s on timeout } route d { use all }")
    many = parse(
        "retry r {\n attempts 2\n backoff constant 1s\n on timeout\n}\nroute d {\n use all\n}"
    )
    assert one_line == many


def test_walk_expr_visits_every_node_in_order_without_recursion() -> None:
    leaf = ast.Path(("x",))
    deep: ast.Expr = leaf
    for _ in range(20_000):  # far past Python's recursion limit
        deep = ast.Unary("not", deep)
    assert sum(1 for _ in ast.walk_expr(deep)) == 20_001
    call = ast.Call(ast.Path(("latency", "p50")), (ast.Path(("w",)),))
    expr = ast.Binary("or", ast.ListExpr((ast.Path(("a",)), call)), ast.Path(("b",)))
    kinds = [type(n).__name__ for n in ast.walk_expr(expr)]
    assert kinds == ["Binary", "ListExpr", "Path", "Call", "Path", "Path"]
    names = [n.dotted for n in ast.walk_expr(expr) if isinstance(n, ast.Path)]
    assert names == ["a", "w", "b"]  # a call's name is its func, not a node of its own
