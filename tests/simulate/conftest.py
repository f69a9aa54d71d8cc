from __future__ import annotations

from pathlib import Path

import pytest

from llmpool_policy.config import PoolConfig, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "simulation"
AZURE_CONV = (
    ROOT.parent / "shared" / "data" / "azure-llm-inference-2023" / "AzureLLMInferenceTrace_conv.csv"
)


def two_providers(**extra: object) -> PoolConfig:
    """A primary (priority 1) and a backup (priority 2), priced, no limits unless given."""
    import json

    providers = [
        {
            "name": "primary",
            "type": "openai",
            "api_key": "sk-test",
            "model": "m1",
            "priority": 1,
            "input_token_price": 0.002,
            "output_token_price": 0.008,
        },
        {
            "name": "backup",
            "type": "anthropic",
            "api_key": "sk-test",
            "model": "m2",
            "priority": 2,
            "input_token_price": 0.003,
            "output_token_price": 0.015,
        },
    ]
    for p in providers:
        p.update(extra.get(str(p["name"]), {}))  # type: ignore[call-overload]
    return parse_config(json.dumps({"providers": providers}))


@pytest.fixture
def azure_conv() -> Path:
    if not AZURE_CONV.exists():
        pytest.skip(f"{AZURE_CONV} is not present")
    return AZURE_CONV
