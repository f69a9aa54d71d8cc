"""Dry-run simulation: recorded traffic, provider outcome models, scenarios, replay through the
same decide + executor + metrics code as the live pool, reports and a policy diff.

    from llmpool_policy.simulate import load_simulation, build_report, render_text
    sim = load_simulation("policies/default.policy", "config.json", scenario="outage.json", seed=1)
    result = sim.run(load_traffic("traffic.jsonl"))
    print(render_text(build_report(result)))

See docs/simulation.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..config import PoolConfig, load_config
from ..policy import Policy
from .diff import Gate, build_diff, check_gates, parse_gate, render_diff_text
from .engine import SimulationResult, Simulator
from .external import import_litellm, import_openai_batch, import_otel
from .html import render_html
from .importers import FORMATS_HELP, import_azure, import_file, synthetic_traffic
from .models import LatencyModel, ProviderModel, default_models, fit_models
from .report import build_report, render_text, report_json
from .scenario import Scenario, ScenarioError, load_scenario
from .traffic import TrafficError, TrafficRecord, read_traffic, write_traffic

__all__ = [
    "FORMATS_HELP",
    "Gate",
    "LatencyModel",
    "ProviderModel",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Simulator",
    "TrafficError",
    "TrafficRecord",
    "build_diff",
    "build_report",
    "check_gates",
    "default_models",
    "fit_models",
    "import_azure",
    "import_file",
    "import_litellm",
    "import_openai_batch",
    "import_otel",
    "load_simulation",
    "load_traffic",
    "parse_gate",
    "read_traffic",
    "render_diff_text",
    "render_html",
    "render_text",
    "report_json",
    "synthetic_traffic",
    "write_traffic",
]


def load_traffic(path: str | Path) -> Iterator[TrafficRecord]:
    """Records from a traffic file: ``.csv`` is read as the Azure trace, anything else as
    JSON lines (``schemas/traffic-record.schema.json``)."""
    if str(path).lower().endswith(".csv"):
        return import_azure(path)
    return read_traffic(path)


def load_simulation(
    policy: str | Path,
    config: str | Path | PoolConfig,
    *,
    scenario: str | Path | Scenario | None = None,
    seed: int = 0,
) -> Simulator:
    """A :class:`Simulator` from files (the policy is compiled against the config, and again
    against changed prices when the scenario has a price event)."""
    loaded = config if isinstance(config, PoolConfig) else load_config(config)
    text = Path(policy).read_text(encoding="utf-8")
    name = str(policy)

    def compile_for(cfg: PoolConfig) -> Policy:
        return Policy.from_text(text, name, config=cfg)

    if scenario is not None and not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return Simulator(
        compile_for(loaded), loaded, scenario=scenario, seed=seed, recompile=compile_for
    )
