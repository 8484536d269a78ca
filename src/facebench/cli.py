"""The ``facebench`` command line: ``backends`` and ``bench`` (later: ``run``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from facebench.errors import FacebenchError


def _cmd_backends(args: argparse.Namespace) -> None:
    from facebench.backends.registry import availability

    rows = availability()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "available" if row["available"] else f"not available: {row['reason']}"
        print(f"{row['role']:9s} {row['backend']:14s} {state}")


def _print_bench(result: dict) -> None:
    print(f"host {result['host']} ({result['cpu']}), {result['threads']} threads")
    header = (
        f"{'kind':7s} {'backend':14s} {'input':7s} {'init s':>7s} {'first s':>8s} "
        f"{'calls':>6s} {'p50 ms':>9s} {'p90 ms':>9s} {'p99 ms':>9s} {'CoV':>6s} "
        f"{'ms/item':>8s} {'extra':>10s}"
    )
    print(header)
    for r in result["rows"]:
        extra = f"{r['gflops']:.1f} GFLOPS" if "gflops" in r else f"{r.get('faces', '')} faces"
        print(
            f"{r['kind']:7s} {r['backend']:14s} {r['input']:7s} {r['init_s']:7.2f} "
            f"{r['first_call_s']:8.3f} {r['n_calls']:6d} {r['p50_ms']:9.2f} {r['p90_ms']:9.2f} "
            f"{r['p99_ms']:9.2f} {r['cov']:6.3f} {r['p50_ms_per_item']:8.2f} {extra:>10s}"
        )
    for key, reason in result["skipped"].items():
        print(f"{key}: not measured: {reason}")
    for key, value in result.get("targets", {}).items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")


def _cmd_bench(args: argparse.Namespace) -> None:
    from facebench.bench import run_bench
    from facebench.fileio import write_json

    result = run_bench(
        Path(args.models_dir),
        Path(args.faces_dir),
        args.threads,
        args.detectors,
        args.embedders,
        args.min_seconds,
        args.min_calls,
        baselines=not args.no_baselines,
    )
    _print_bench(result)
    if args.json:
        write_json(Path(args.json), result)


def parser() -> argparse.ArgumentParser:
    from facebench.backends.registry import DETECTORS, EMBEDDERS

    top = argparse.ArgumentParser(prog="facebench", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    backends = commands.add_parser("backends", help="which backends run on this host, and why not")
    backends.add_argument("--json", action="store_true", help="print JSON")
    backends.set_defaults(func=_cmd_backends)
    bench = commands.add_parser("bench", help="latency of every backend on real images")
    bench.add_argument("--models-dir", default="resources/models")
    bench.add_argument("--faces-dir", default="resources/faces")
    bench.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    bench.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    bench.add_argument("--embedders", nargs="+", default=list(EMBEDDERS), choices=list(EMBEDDERS))
    bench.add_argument("--min-seconds", type=float, default=3.0, help="timed seconds per case")
    bench.add_argument("--min-calls", type=int, default=30, help="timed calls per case")
    bench.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the mtcnn package and Keras predict baselines",
    )
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    bench.set_defaults(func=_cmd_bench)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except FacebenchError as error:
        print(f"facebench: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
