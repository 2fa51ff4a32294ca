"""Run every benchmark side by side and print (or write) the results.

./benchmarks/run.sh            # full size, writes benchmarks/RESULTS.md
./benchmarks/run.sh --smoke    # small sizes, prints only (what .ci/run does)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import client_overhead
import emulator_throughput
import import_cost
import triggerer_scale

HERE = Path(__file__).parent


def _demand_line(row: dict[str, Any], emu: dict[str, Any]) -> str:
    ceiling = max(emu["1_client_threads_req_per_s"], emu["4_client_threads_req_per_s"])
    round_s = row["triggers"] / ceiling  # every trigger reads once per poll, all at about the same time
    reads = row["minimum_requests_per_run"] - 1
    floor = row["ideal_wall_s"] + reads * round_s
    return (
        f"- {row['triggers']:,} triggers: one poll round is {row['triggers']:,} reads, which the emulator needs "
        f"at least {round_s:.1f} s to serve; with {reads} rounds the emulator alone puts the wall time at "
        f"{floor:.1f} s or more (measured: {row['wall_s']} s)."
    )


def render(results: dict[str, Any]) -> str:
    """benchmarks/RESULTS.md from a results.json."""
    imp, client, emu = results["import_cost"], results["client_overhead"], results["emulator_throughput"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {results['when']} on {results['machine']} (2 cores, shared and noisy: read the ratios,",
        "which compare figures measured side by side in the same run). Reproduce with:",
        "",
        "```bash",
        "./benchmarks/run.sh          # full size; writes benchmarks/results.json and this file",
        "./benchmarks/run.sh --smoke  # small sizes, prints only (what .ci/run does)",
        "```",
        "",
        "## 1. Import cost (what a DAG file / a code location pays at each parse)",
        "",
        "Median of fresh interpreters that import the framework first, then the module; ours and the peer's",
        "samples alternate.",
        "",
        "| Over | Module | ms | modules added | Peer | ms | modules added | ours / peer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in imp.values():
        lines.append(
            f"| `import {case['base']}` | {case['ours']} | {case['ours_ms']} | {case['ours_modules']} | "
            f"{case['peer']} | {case['peer_ms']} | {case['peer_modules']} | **{case['ratio']}** |"
        )
    lines += [
        "",
        f"Target: at most 0.25 of the peer's overhead. Runs: {next(iter(imp.values()))['runs']} per module.",
        "",
        "## 2. Client overhead per call (loopback, emulator in its own process)",
        "",
        "| Bare `requests.Session` GET + `json()` | `QATechClient.get_run` (validation, retries armed, models) "
        "| client / bare |",
        "|---|---|---|",
        f"| {client['bare_us_per_call']} µs | {client['client_us_per_call']} µs | **{client['ratio']}** |",
        "",
        f"Median of {client['rounds']} alternating rounds of {client['calls_per_round']} calls each. "
        "Target: within 10%.",
        "",
        "## 3. Triggerer scale: QATechRunTrigger instances waiting in one event loop",
        "",
        "Each run needs one start and three status reads (INITIATED, RUNNING, COMPLETED); the ideal wall time",
        "is two poll intervals. Memory is the growth of the process's resident set while all triggers wait.",
        "",
        "| Triggers | all finished | poll interval | wall | ideal | wall / ideal | KB per waiting run "
        "| requests per run (minimum) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["triggerer_scale"]:
        lines.append(
            f"| {row['triggers']:,} | {row['all_finished']} | {row['poll_interval_s']} s | {row['wall_s']} s | "
            f"{row['ideal_wall_s']} s | {row['wall_over_ideal']} | {row['kb_per_waiting_run']} | "
            f"{row['requests_per_run']} ({row['minimum_requests_per_run']}) |"
        )
    lines += [
        "",
        "## 4. The emulator's own throughput",
        "",
        "| 1 client thread | 4 client threads |",
        "|---|---|",
        f"| {emu['1_client_threads_req_per_s']} req/s | {emu['4_client_threads_req_per_s']} req/s |",
        "",
        "Both sides of the client-overhead comparison hit the same emulator, so its cost cancels in the ratio.",
        "What that means for the trigger runs, whose reads come in bursts (all triggers poll together):",
        "",
        *[_demand_line(row, emu) for row in results["triggerer_scale"]],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="small sizes, print only")
    parser.add_argument("--scale", type=int, nargs="*", default=None, help="trigger counts (default 1000 10000)")
    parser.add_argument("--render-only", action="store_true", help="rewrite RESULTS.md from results.json")
    parser.add_argument("--json-out", type=Path, help="also write the results here (stdout carries Airflow's logs)")
    args = parser.parse_args()
    if args.render_only:
        (HERE / "RESULTS.md").write_text(render(json.loads((HERE / "results.json").read_text())))
        return 0
    smoke = args.smoke
    results = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "import_cost": import_cost.run(runs=3 if smoke else 15),
        "client_overhead": client_overhead.run(calls=50 if smoke else 300, rounds=3 if smoke else 9),
        "emulator_throughput": emulator_throughput.run(seconds=1 if smoke else 4),
        "triggerer_scale": [
            triggerer_scale.run(count, poll_interval=1.0 if smoke else 5.0)
            for count in (args.scale or ([100] if smoke else [1000, 10000]))
        ],
    }
    print(json.dumps(results, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    if not smoke:
        (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (HERE / "RESULTS.md").write_text(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
