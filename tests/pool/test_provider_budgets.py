"""A budget per provider over real HTTP (issue 11, item 6b): once provider a's own spend
reaches its budget, a is refused and requests go to b; spend is charged to whoever served."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import NoProviderAvailableError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

from .harness import PoolHarness


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


def test_a_spent_provider_budget_sends_requests_to_the_next_provider(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add("a", "openai", config={"priority": 1})
    emulator.add("b", "openai", config={"priority": 2})
    price = {"input_token_price": 1.0, "output_token_price": 1.0}  # USD per 1K tokens
    emulator.write_config(tmp_path / "config.json", {"a": price, "b": price})
    policy = tmp_path / "p.policy"
    # one answer costs about a cent: a's budget is spent after its second one
    policy.write_text(
        'policy "caps"\nbudget vendor = $0.015 per day per provider on breach deny\n'
        "route default { use all  order by priority }\n"
    )
    harness = PoolHarness(emulator, tmp_path, emulator_clock)

    async def body(pool: LLMPool) -> tuple[list[str], list[float], dict[str, str]]:
        served, costs = [], []
        for i in range(8):
            try:
                r = await pool.chat([text_message("user", "hi")], max_tokens=8, request_id=f"r{i}")
            except NoProviderAvailableError as exc:
                return served, costs, exc.reasons
            served.append(r.provider)
            costs.append(r.cost)
        return served, costs, {}

    served, costs, reasons = harness.run(policy, body)
    assert 0.0075 < costs[0] < 0.015  # two answers from a reach its $0.015, one does not
    assert served[:3] == ["a", "a", "b"]
    assert emulator.journal.count("a") == 2  # never called once spent
    # b's own budget is spent in turn: then nothing is left, and the error says why
    assert served.count("b") == 2
    assert set(reasons) == {"a", "b"}
    assert reasons["a"].startswith("budget vendor for a is spent: $0.018 of $0.015 per day")
    assert reasons["b"].startswith("budget vendor for b is spent")
