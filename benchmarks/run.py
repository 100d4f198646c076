"""`python benchmarks/run.py [--quick] [--json FILE] [--database URL] [--no-api-load]
[--workers N]`

Measures todosync's sync against its physical floors at growing sizes, and its local API
under load against two floors (a raw ASGI app; a minimal Starlette app that runs the same SQL
through the same driver); prints a table and optionally writes one JSON object.
See docs/BENCHMARKS.md for the method and the goals.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import api_load, dataset, scenarios
from benchmarks.fake import FakeApi
from benchmarks.stats import format_table, loglog_slope

__all__ = ["SIZES", "growth_exponents", "machine_info", "main"]

SIZES = (scenarios.Size(10, 100), scenarios.Size(100, 100), scenarios.Size(1000, 100))
_COLUMNS = (
    "database",
    "scenario",
    "items",
    "seconds",
    "wall_seconds",
    "floor_seconds",
    "ratio",
    "api_calls",
    "expected_api_calls",
    "peak_rss_mb",
    "status",
)


def growth_exponents(
    results: Sequence[dict[str, Any]], *, largest: int | None = None
) -> dict[str, dict[str, float | None]]:
    """Per database and scenario, the log-log slope of seconds over items (1.0 = linear),
    fitted over every size, or over the `largest` sizes only: fixed costs (a run record, a
    lease) flatten the fit at 1k items, so the slope between the two largest sizes is the
    more honest view of how the work grows."""
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for row in results:
        key = (row["database"], row["scenario"])
        series.setdefault(key, []).append((row["items"], row["seconds"]))
    exponents: dict[str, dict[str, float | None]] = {}
    for (database, scenario), points in series.items():
        points = sorted(points)[-largest:] if largest else points
        slope = loglog_slope([x for x, _ in points], [y for _, y in points])
        exponents.setdefault(database, {})[scenario] = None if slope is None else round(slope, 3)
    return exponents


def machine_info() -> dict[str, Any]:
    """Where the figures come from; they are only comparable on one machine, in one run."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "memory_gb": _memory_gb(),
    }


def _memory_gb() -> float | None:
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return round(pages * page_size / 2**30, 1)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="only the smallest size (1k items)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write one JSON object")
    parser.add_argument(
        "--database",
        action="append",
        metavar="URL",
        help="`sqlite` (the default) or a PostgreSQL server URL; fresh databases are created "
        "on it (and dropped); repeat for several kinds",
    )
    parser.add_argument(
        "--sizes",
        help="comma-separated item counts to run (of 1000,10000,100000); default all",
    )
    parser.add_argument("--no-api-load", action="store_true", help="skip the local API load")
    parser.add_argument(
        "--floor-repeats",
        type=int,
        default=None,
        help="measure each floor this many times and keep the median (default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run each sync under cProfile and write its .prof file to DIR (slower figures)",
    )
    parser.add_argument(
        "--load-seconds", type=float, default=None, help="duration of each load phase"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API load: `todosync serve --workers N` (N > 1 needs PostgreSQL), and the db "
        "floor in as many uvicorn processes (the raw ASGI floor stays one process)",
    )
    return parser.parse_args(argv)


def _sizes(args: argparse.Namespace) -> list[scenarios.Size]:
    if args.quick:
        return [SIZES[0]]
    if args.sizes:
        wanted = {int(s) for s in args.sizes.split(",")}
        return [size for size in SIZES if size.items in wanted]
    return list(SIZES)


def _server_url(database: str) -> str | None:
    return None if database == "sqlite" else database


def run_syncs(
    databases: list[str],
    sizes: list[scenarios.Size],
    workdir: Path,
    *,
    profile_dir: Path | None = None,
    floor_repeats: int = 1,
) -> tuple[list[dict[str, Any]], bool]:
    """Every scenario at every size on a fresh database of each kind; the result rows, and
    whether some size failed (it is reported on stderr and the others still run)."""
    fake = FakeApi(cwd=workdir)
    results: list[dict[str, Any]] = []
    failed = False
    try:
        for database in databases:
            dbs = dataset.Databases(server_url=_server_url(database))
            try:
                for size in sizes:
                    print(f"... {dbs.kind}: {size.items} items", file=sys.stderr, flush=True)
                    try:
                        results += scenarios.run_size(
                            fake=fake,
                            dbs=dbs,
                            size=size,
                            workdir=workdir,
                            profile_dir=profile_dir,
                            floor_repeats=floor_repeats,
                        )
                    except RuntimeError as exc:
                        failed = True
                        print(f"!!! {dbs.kind} {size.items} items: {exc}", file=sys.stderr)
            finally:
                dbs.close()
    finally:
        fake.stop()
    return results, failed


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    databases = args.database or ["sqlite"]
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine_info()}
    with tempfile.TemporaryDirectory(prefix="todosync-bench-") as tmp:
        profile_dir = args.profile.resolve() if args.profile else None  # children run elsewhere
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
        repeats = args.floor_repeats or (1 if args.quick else 3)
        results, failed = run_syncs(
            databases, _sizes(args), Path(tmp), profile_dir=profile_dir, floor_repeats=repeats
        )
        report |= {
            "results": results,
            "growth_exponents": growth_exponents(results),
            "growth_exponents_largest_two": growth_exponents(results, largest=2),
        }
        _print_syncs(report)
        _write(args.json, report)  # the sync figures are kept even if the load phase fails
        report["api_load"] = None
        if not args.no_api_load:
            seconds = args.load_seconds or (3.0 if args.quick else 10.0)
            report["api_load"] = api_load.run(
                database=databases[0], workdir=Path(tmp), seconds=seconds, workers=args.workers
            )
            print("\nlocal API load:")
            print(format_table(report["api_load"]["phases"], api_load.COLUMNS))
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    _write(args.json, report)
    return 1 if failed else 0


def _print_syncs(report: dict[str, Any]) -> None:
    print(format_table(report["results"], _COLUMNS))
    print("\ngrowth exponents (log-log slope of seconds over items), all sizes:")
    print(json.dumps(report["growth_exponents"]))
    print("between the two largest sizes:")
    print(json.dumps(report["growth_exponents_largest_two"]))


def _write(path: Path | None, report: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
