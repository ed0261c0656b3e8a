"""Run the benchmarks: `python -m bench.run [--quick] [--only chat,pages,inbox,followups]`.

Each module in BENCHMARKS that exists and exposes `run(quick: bool) -> list[dict]` is run in turn;
its rows are printed as a table and written to bench/results/<name>-<sha>-<timestamp>.json.
A benchmark that fails is reported and the others still run; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
import traceback

from bench.common import Table, elapsed, stop_all, write_results

BENCHMARKS = (
    "chat",
    "pages",
    "inbox",
    "followups",
    "helpcenter",
    "imap",
    "webhooks",
    "exports",
    "redis_publish",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the two-minute version")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(BENCHMARKS))
    args = parser.parse_args(argv)
    wanted = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in wanted if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    all_rows: list[dict] = []
    failed: list[str] = []
    started = time.monotonic()
    try:
        for name in wanted:
            if importlib.util.find_spec(f"bench.{name}") is None:
                print(f"[{name}] not present yet, skipped", flush=True)
                continue
            module = importlib.import_module(f"bench.{name}")
            if not hasattr(module, "run"):
                print(f"[{name}] has no run(quick), skipped", flush=True)
                continue
            print(f"[{name}] running{' (quick)' if args.quick else ''}...", flush=True)
            t0 = time.monotonic()
            try:
                rows = module.run(args.quick)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                continue
            finally:
                stop_all()
            Table(f"{name} ({elapsed(t0)})").print(rows)
            path = write_results(name, {"quick": args.quick, "rows": rows})
            print(f"[{name}] results in {path.relative_to(path.parents[2])}", flush=True)
            all_rows += rows
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()
    if len(all_rows):
        Table(f"All benchmarks ({elapsed(started)}{', quick' if args.quick else ''})").print(
            all_rows
        )
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
