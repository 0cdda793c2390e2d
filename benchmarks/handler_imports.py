"""What a cold start of each Lambda handler costs before its first event reaches AWS, against a bare
Powertools REST resolver: the CPU and memory of importing the handler, and of then building the
collaborators it takes from the composition root.

    .venv/bin/python -m benchmarks.handler_imports [--root PATH] [--repeat 5] [--function NAME ...]

Every handler of wiring.json (or the --function ones) is imported in a fresh interpreter, --repeat
times, round-robin with the baseline (`from aws_lambda_powertools.event_handler import
APIGatewayRestResolver`) so that a busy neighbour slows all alike. A child measures the CPU of the
import (`time.process_time()` around it: user and system time, the interpreter's own start
excluded) and its peak RSS (`ru_maxrss`, the interpreter included, as Lambda's "Max Memory Used"
counts it); then it calls every builder of lambda_functions.composition the handler module imported
that takes no argument (`configuration()`, `executor()`...: what the first invocation builds, no
request sent) and measures both again. The table shows the medians, their ratio to the baseline's
in the same run, the modules loaded, and which of the layers a configuration function has no use
for (engine, market, brokers) were loaded once built.

The children see a Lambda-like environment (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, a region,
a table and an event bus name) so that Powertools' Tracer patches as on Lambda; no AWS request is
made. --root measures another checkout (a `git worktree` of the version before a change, with this
one's .venv) with this benchmark. One unmeasured run of each comes first, so that compiling the
bytecode is not counted. Lambda's own runtime has fewer libraries installed than this .venv, which
X-Ray's patching would otherwise find and load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "bare resolver"
BASELINE_MODULE = "aws_lambda_powertools.event_handler"

# The layers a configuration function has no use for: the options maths and the market model, the
# engine and the brokers.
HEAVY = {
    "engine": "shared_utils.engine",
    "market": "shared_utils.market",
    "brokers": "shared_utils.adapters.brokers",
}

CHILD = """
import importlib, inspect, json, resource, sys, time

def now():
    return {{
        "cpu_s": time.process_time() - start,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "modules": len(sys.modules),
    }}

start = time.process_time()
handler = importlib.import_module({module!r})
imported = now()
for value in list(vars(handler).values()):
    if callable(value) and getattr(value, "__module__", None) == "lambda_functions.composition":
        if not inspect.signature(value).parameters:
            value()
built = now()
ours = [name for name in sorted(sys.modules) if name.startswith("shared_utils")]
print(json.dumps({{"imported": imported, "built": built, "ours": ours}}))
"""


def handlers(root: Path) -> dict[str, str]:
    """Function name -> the module of its entry, from the wiring table."""
    wiring = json.loads((root / "wiring.json").read_text())
    return {
        function: spec["handler"].rsplit(".", 1)[0]
        for function, spec in wiring["functions"].items()
    }


def _child_environment(root: Path, function: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWERTOOLS_", "AWS_", "PLATFORM_", "LAMBDA_"))
    }
    return {
        **environment,
        "PYTHONPATH": str(root),
        "LAMBDA_TASK_ROOT": str(root),
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": "ap-south-1",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "POWERTOOLS_SERVICE_NAME": function,
        "TABLE_NAME": "trading-configurations",
        "EVENT_BUS_NAME": "options-platform-events",
    }


def measure_once(root: Path, function: str, module: str) -> dict:
    done = subprocess.run(  # noqa: S603 - this interpreter, a module named by wiring.json
        [sys.executable, "-c", CHILD.format(module=module)],
        cwd=root,
        env=_child_environment(root, function),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {function} failed:\n{done.stderr}")
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(root: Path, targets: dict[str, str], repeat: int) -> dict[str, list[dict]]:
    for function, module in targets.items():
        measure_once(root, function, module)  # writes the bytecode; not counted
    runs: dict[str, list[dict]] = {function: [] for function in targets}
    for _ in range(repeat):
        for function, module in targets.items():
            runs[function].append(measure_once(root, function, module))
    return runs


def _median(samples: list[dict], stage: str, measure: str) -> float:
    return float(statistics.median(sample[stage][measure] for sample in samples))


def summary(runs: dict[str, list[dict]]) -> list[dict]:
    """One row per function (the baseline first), with its ratios to the baseline."""
    rows = []
    for function, samples in runs.items():
        ours = samples[-1]["ours"]
        row: dict[str, Any] = {"function": function}
        for stage in ("imported", "built"):
            row[f"{stage}_cpu_ms"] = _median(samples, stage, "cpu_s") * 1000
            row[f"{stage}_rss_mb"] = _median(samples, stage, "rss_mb")
            row[f"{stage}_modules"] = samples[-1][stage]["modules"]
        row["loads"] = [
            layer
            for layer, package in HEAVY.items()
            if any(name == package or name.startswith(package + ".") for name in ours)
        ]
        rows.append(row)
    base = rows[0]
    for row in rows:
        for measure in ("imported_cpu_ms", "built_cpu_ms", "imported_rss_mb", "built_rss_mb"):
            row[measure.replace("_ms", "").replace("_mb", "") + "_ratio"] = (
                row[measure] / base[measure]
            )
    return rows


HEADER = (
    "| function | import CPU ms (x resolver) | + built CPU ms (x) | import RSS MB (x) "
    "| + built RSS MB (x) | modules import / built | built loads |"
)


def _line(r: dict) -> str:
    return (
        f"| {r['function']} "
        f"| {r['imported_cpu_ms']:.0f} ({r['imported_cpu_ratio']:.1f}) "
        f"| {r['built_cpu_ms']:.0f} ({r['built_cpu_ratio']:.1f}) "
        f"| {r['imported_rss_mb']:.0f} ({r['imported_rss_ratio']:.1f}) "
        f"| {r['built_rss_mb']:.0f} ({r['built_rss_ratio']:.1f}) "
        f"| {r['imported_modules']} / {r['built_modules']} "
        f"| {', '.join(r['loads']) or '-'} |"
    )


def table(rows: list[dict], root: Path, repeat: int) -> str:
    title = f"handler cold starts of {root} (median of {repeat} fresh interpreters each)"
    return "\n".join([title, "", HEADER, "|---|---:|---:|---:|---:|---:|---|", *map(_line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per handler")
    parser.add_argument(
        "--function", action="append", help="only this function of wiring.json (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    root = args.root.resolve()
    wired = handlers(root)
    unknown = sorted(set(args.function or ()) - set(wired))
    if unknown:
        parser.error(f"not in wiring.json: {', '.join(unknown)}")
    chosen = {f: s for f, s in wired.items() if not args.function or f in args.function}
    rows = summary(measure(root, {BASELINE: BASELINE_MODULE, **chosen}, args.repeat))
    print(json.dumps(rows, indent=2) if args.json else table(rows, root, args.repeat))


if __name__ == "__main__":
    main()
