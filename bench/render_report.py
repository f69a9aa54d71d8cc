"""Check: the simulation's HTML report renders in headless Chromium; writes a PNG screenshot.

Run: python bench/render_report.py [--out docs/images/simulation-report.png] [--html FILE]
     [--chromium chromium] [--width 1200] [--height 1600]

It simulates the shipped example (policies/default.policy, docs/examples/simulation/config.json,
the Azure conv trace excerpt, the outage scenario, seed 1) — or takes an existing report with
``--html`` — and has Chromium render the page offline to PNG:

    chromium --headless --no-sandbox --disable-gpu --disable-background-networking
        --disable-component-update --disable-sync --no-first-run
        --user-data-dir=$(mktemp -d) --screenshot=OUT --window-size=1200,1600 file://REPORT

Chromium is a Debian package (``apt-get install -y chromium``); the test suite never needs it.
Exit 0 when the PNG was written and looks like a rendered page (a valid PNG of the requested
size, not one flat colour), 1 otherwise, 2 when Chromium is missing.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples" / "simulation"


def build_report(path: Path) -> None:
    from llmpool_policy.simulate import build_report, load_simulation, load_traffic, render_html

    sim = load_simulation(
        ROOT / "policies" / "default.policy",
        EXAMPLES / "config.json",
        scenario=EXAMPLES / "outage.json",
        seed=1,
    )
    result = sim.run(load_traffic(EXAMPLES / "azure-conv-excerpt.csv"))
    path.write_text(render_html(build_report(result)), encoding="utf-8")


def screenshot(chromium: str, html: Path, out: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--screenshot={out}", f"--window-size={width},{height}", html.resolve().as_uri(),
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def png_check(path: Path, width: int, height: int) -> str | None:
    """None when ``path`` is a PNG of that size with more than one colour, else what is wrong."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    if (w, h) != (width, height):
        return f"size {w}x{h}, expected {width}x{height}"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    if len(set(raw[1 : min(len(raw), 400_000)])) < 8:
        return "the page is (nearly) one flat colour: nothing rendered"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "images" / "simulation-report.png"
    )
    parser.add_argument("--html", type=Path, help="an existing report (default: simulate one)")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1600)
    args = parser.parse_args(argv)
    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f"{args.chromium} not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        html = args.html
        if html is None:
            html = Path(tmp) / "report.html"
            build_report(html)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(chromium, html, args.out, args.width, args.height)
    problem = png_check(args.out, args.width, args.height)
    if problem is not None:
        print(f"{args.out}: {problem}", file=sys.stderr)
        return 1
    print(f"{args.out}: {args.width}x{args.height}, rendered by {chromium}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
