"""The four sync scenarios at one size, each beside its floor, on one kind of database.

Order per size: `first_import` (remote L x I, local empty), then `no_change` and
`changes_1pct` on the same database, then `first_export` (local L x I, remote empty) on a
fresh one. The fake's request log is cleared before each sync and read right after it.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import dataset, procs
from benchmarks.fake import FakeApi
from benchmarks.stats import ratio

__all__ = ["PUSH_CONCURRENCY", "Size", "run_size"]

# The engine's default TODOSYNC_PUSH_CONCURRENCY, set explicitly so the floors match it.
PUSH_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class Size:
    lists: int
    items_per_list: int

    @property
    def items(self) -> int:
        return self.lists * self.items_per_list


@dataclass(slots=True)
class _Context:
    fake: FakeApi
    dbs: dataset.Databases
    size: Size
    workdir: Path
    profile_dir: Path | None = None
    floor_repeats: int = 1

    def median_floor(
        self, make_spec: Callable[[], dict[str, Any]], *, after: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """The floor measured `floor_repeats` times (a fresh spec each time, `after` between
        them); the run with the median seconds, so that one unlucky or lucky moment on a
        shared machine does not make the ratio."""
        runs = []
        for _ in range(self.floor_repeats):
            runs.append(self.floor(make_spec()))
            if after is not None:
                after()
        runs.sort(key=lambda run: float(run["seconds"]))
        return runs[len(runs) // 2] | {"repeats": [round(r["seconds"], 4) for r in runs]}

    def sync(self, database_url: str, *, scenario: str) -> procs.Finished:
        env = procs.base_env(
            TODOSYNC_DATABASE_URL=database_url,
            TODOSYNC_EXTERNAL_API_URL=self.fake.url,
            TODOSYNC_EXTERNAL_API_TOKEN=self.fake.token,
            TODOSYNC_LOG_LEVEL="WARNING",
            TODOSYNC_SYNC_INTERVAL_SECONDS="0",
            TODOSYNC_PUSH_CONCURRENCY=str(PUSH_CONCURRENCY),
        )
        args = ["-m", "todosync", "sync", "--json"]
        if self.profile_dir is not None:  # cProfile slows the run: its figures are not kept
            profile = self.profile_dir / f"{self.dbs.kind}_{scenario}_{self.size.items}.prof"
            args = ["-m", "cProfile", "-o", str(profile), *args]
        return procs.run_measured(args, env=env, cwd=self.workdir)

    def floor(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec = spec | {"api_url": self.fake.url, "token": self.fake.token}
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=self.workdir) as file:
            json.dump(spec, file)
            file.flush()
            env = procs.base_env()
            done = procs.run_measured(
                ["-m", "benchmarks.floors", file.name], env=env, cwd=procs.REPO_ROOT
            )
        if done.exit_code != 0:
            raise RuntimeError(f"floor {spec['kind']} failed: {done.stderr[-2000:]}")
        return done.last_json()

    def measured_sync(
        self,
        scenario: str,
        database_url: str,
        *,
        floor: dict[str, Any],
        expected_calls: int,
        repeats: int = 1,
    ) -> dict[str, Any]:
        """One sync measured, or (`repeats`, for a sync that changes nothing) the run with
        the median seconds of several, as for the floors."""
        runs = []
        for _ in range(repeats):
            self.fake.clear_log()
            done = self.sync(database_url, scenario=scenario)
            runs.append((float(done.last_json()["duration_s"]), done, self.fake.request_count()))
        runs.sort(key=lambda run: run[0])
        seconds, done, _ = runs[len(runs) // 2]
        calls = max(run[2] for run in runs)  # the most that any repeat made
        report = done.last_json()
        return {
            "scenario": scenario,
            "items": self.size.items,
            "lists": self.size.lists,
            "database": self.dbs.kind,
            "seconds": seconds,
            "wall_seconds": round(done.wall_s, 3),
            "floor_seconds": round(floor["seconds"], 4),
            "ratio": _rounded(ratio(seconds, floor["seconds"])),
            "api_calls": calls,
            "expected_api_calls": expected_calls,
            "engine_api_calls": report.get("api_calls"),
            "peak_rss_mb": round(done.peak_rss_mb, 1),
            "status": report.get("status"),
            "exit_code": done.exit_code,
            "floor_phases": {k: round(v, 4) for k, v in floor["phases"].items()},
            "floor_repeats": floor.get("repeats"),
            "repeats": [round(run[0], 4) for run in runs],
        }


def run_size(
    *,
    fake: FakeApi,
    dbs: dataset.Databases,
    size: Size,
    workdir: Path,
    profile_dir: Path | None = None,
    floor_repeats: int = 1,
) -> list[dict[str, Any]]:
    """The four scenarios at `size`; one result row each. With `profile_dir`, each sync runs
    under cProfile and leaves `<database>_<scenario>_<items>.prof` there."""
    ctx = _Context(
        fake=fake,
        dbs=dbs,
        size=size,
        workdir=workdir,
        profile_dir=profile_dir,
        floor_repeats=floor_repeats,
    )
    label = f"{size.items}"
    local = dbs.fresh(f"import_{label}")
    rows = [_first_import(ctx, local)]
    rows.append(_no_change(ctx, local))
    rows.append(_changes_1pct(ctx, local))
    rows.append(_first_export(ctx, dbs.fresh(f"export_{label}")))
    fake.reset()
    return rows


def _first_import(ctx: _Context, local: str) -> dict[str, Any]:
    size = ctx.size
    ctx.fake.reset()
    ctx.fake.put_state(dataset.remote_lists(lists=size.lists, items_per_list=size.items_per_list))
    # A fresh database for each repeat: every one inserts into empty tables, as the sync does.
    floor = ctx.median_floor(
        lambda: {"kind": "import", "database_url": ctx.dbs.fresh(f"floor_{size.items}")}
    )
    return ctx.measured_sync("first_import", local, floor=floor, expected_calls=1)


def _no_change(ctx: _Context, local: str) -> dict[str, Any]:
    floor = ctx.median_floor(lambda: {"kind": "get_decode"})
    # it changes nothing, so it can be repeated like its floor (its goal is the tightest)
    return ctx.measured_sync(
        "no_change", local, floor=floor, expected_calls=1, repeats=ctx.floor_repeats
    )


def _changes_1pct(ctx: _Context, local: str) -> dict[str, Any]:
    # Disjoint item sets (offsets 0 and 50 of every 100), so nothing conflicts.
    remote_edited = _edit_remote(ctx.fake, every=100, offset=0)
    local_edits = dataset.edit_local_items(local, every=100, offset=50)
    row = ctx.measured_sync("changes_1pct", local, floor=_NO_FLOOR, expected_calls=1 + local_edits)
    # The floor runs after the sync: its PATCHes (the same count, bodies of the same shape)
    # rewrite remotely edited items with their current values, changing nothing that matters.
    requests = [
        {"path": f"/todolists/{lid}/todoitems/{item['id']}", "body": {"description": item["d"]}}
        for lid, item in remote_edited[:local_edits]
    ]
    floor = ctx.median_floor(
        lambda: {"kind": "patch", "requests": requests, "concurrency": PUSH_CONCURRENCY}
    )
    return (
        row
        | _with_floor(row, floor)
        | {"local_edits": local_edits, "remote_edits": len(remote_edited)}
    )


def _first_export(ctx: _Context, local: str) -> dict[str, Any]:
    size = ctx.size
    dataset.seed_local(local, lists=size.lists, items_per_list=size.items_per_list)
    ctx.fake.reset()
    # The pull comes first even when the remote side is empty (DESIGN: pull, then push).
    expected = 1 + size.lists
    row = ctx.measured_sync("first_export", local, floor=_NO_FLOOR, expected_calls=expected)
    ctx.fake.reset()
    requests = [{"path": "/todolists", "body": body} for body in _post_bodies(size)]
    floor = ctx.median_floor(
        lambda: {"kind": "post", "requests": requests, "concurrency": PUSH_CONCURRENCY},
        after=ctx.fake.reset,  # each repeat posts into an empty remote, as the sync did
    )
    return row | _with_floor(row, floor)


_NO_FLOOR: dict[str, Any] = {"seconds": 0.0, "phases": {}}


def _with_floor(row: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    return {
        "floor_seconds": round(floor["seconds"], 4),
        "ratio": _rounded(ratio(row["seconds"], floor["seconds"])),
        "floor_phases": {k: round(v, 4) for k, v in floor["phases"].items()},
        "floor_repeats": floor.get("repeats"),
    }


def _edit_remote(fake: FakeApi, *, every: int, offset: int) -> list[tuple[str, dict[str, Any]]]:
    """Edits every `every`-th remote item as a remote user would (new text, new
    `updated_at`); returns (list id, {"id", "d": new description}) of each."""
    state = fake.get_state()
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    edited: list[tuple[str, dict[str, Any]]] = []
    items = [(lst["id"], item) for lst in state for item in lst["items"]]
    for list_id, item in items[offset::every]:
        item["description"] += " (edited remotely)"
        item["updated_at"] = now
        edited.append((list_id, {"id": item["id"], "d": item["description"]}))
    fake.put_state(state)
    return edited


def _post_bodies(size: Size) -> list[dict[str, Any]]:
    """Bodies shaped like the engine's `POST /todolists`: the list and all its items."""
    return [
        {
            "source_id": str(uuid.uuid4()),
            "name": f"list {n}",
            "items": [
                {
                    "source_id": str(uuid.uuid4()),
                    "description": f"item {n}.{i}: buy milk, eggs and bread",
                    "completed": i % 3 == 0,
                }
                for i in range(size.items_per_list)
            ],
        }
        for n in range(size.lists)
    ]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
