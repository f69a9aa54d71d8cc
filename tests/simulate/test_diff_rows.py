"""`llmpool-policy diff` (issue 12): it names the two files (two policies may carry the same
`policy` name), and lists route-only changes apart from provider changes, so each list adds up
to its count (the rows used to mix: 19,366 listed against 19,086 changed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llmpool_policy.cli import main

from .conftest import EXAMPLES, ROOT

CONFIG = str(EXAMPLES / "config.json")
TRAFFIC = str(EXAMPLES / "azure-conv-excerpt.csv")  # 2,000 requests; 36 change route name only


@pytest.fixture
def alike(tmp_path: Path) -> tuple[str, str]:
    """default.policy and cost-first.policy, both headed `policy "prod"`."""
    paths = []
    for name in ("default", "cost-first"):
        text = (ROOT / "policies" / f"{name}.policy").read_text(encoding="utf-8")
        path = tmp_path / name / "prod.policy"
        path.parent.mkdir()
        path.write_text(re.sub(r'^policy "[^"]*"', 'policy "prod"', text, flags=re.M))
        paths.append(str(path))
    return paths[0], paths[1]


def diff(capsys: pytest.CaptureFixture[str], old: str, new: str, *more: str) -> str:
    code = main(["diff", old, new, "--config", CONFIG, "--traffic", TRAFFIC, "--seed", "1",
                 "--no-progress", *more])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def section(text: str, title: str) -> list[tuple[int, str]]:
    """The (count, 'old -> new') rows under a heading of the text report."""
    block = text.split(f"\n{title}", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\s+([\d,]+)\s+(\S+ -> \S+)\s+e\.g\.", block, re.M)
    return [(int(n.replace(",", "")), pair) for n, pair in rows]


def test_the_header_names_both_files(
    capsys: pytest.CaptureFixture[str], alike: tuple[str, str]
) -> None:
    old, new = alike
    first = diff(capsys, old, new).splitlines()[0]
    assert first.startswith(f"diff {old} ('prod') -> {new} ('prod') over 2,000 requests")
    data = json.loads(diff(capsys, old, new, "--format", "json"))
    assert (data["old_file"], data["new_file"]) == (old, new)


def test_route_only_changes_are_listed_apart_and_every_list_adds_up(
    capsys: pytest.CaptureFixture[str], alike: tuple[str, str]
) -> None:
    text = diff(capsys, *alike)
    counts = re.search(r"decisions changed: ([\d,]+) .*same first provider under another "
                       r"route name: ([\d,]+)", text)  # fmt: skip
    assert counts
    changed, route_only = (int(g.replace(",", "")) for g in counts.groups())
    provider_rows = section(text, "decision changes")
    route_rows = section(text, "route-only changes")
    assert route_only > 0 and changed > 0
    assert sum(n for n, _ in provider_rows) == changed
    assert sum(n for n, _ in route_rows) == route_only
    for _, pair in provider_rows:  # a provider change names two different first providers
        a, b = pair.split(" -> ")
        assert a.split("/")[1] != b.split("/")[1], pair
    for _, pair in route_rows:  # a route-only change: same provider, other route
        a, b = pair.split(" -> ")
        assert a.split("/")[1] == b.split("/")[1] and a.split("/")[0] != b.split("/")[0], pair
    data = json.loads(diff(capsys, *alike, "--format", "json"))
    assert sum(r["count"] for r in data["decision_changes"]) == data["decisions_changed"] == changed
    assert sum(r["count"] for r in data["route_only_change_rows"]) == data["route_only_changes"]
