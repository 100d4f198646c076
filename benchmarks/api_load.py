"""The local API under load: `todosync serve` against two floors.

Two phases: paged `GET /api/todolists/{id}/items?limit=50` and item `PATCH`es (each flipping
`completed`, so every one writes), at 50 connections for a bounded time. The load comes from
`wrk` when it is installed (Debian: `apt-get install wrk`), else from `benchmarks/loadgen.py`;
either runs as its own process. Each phase runs against three targets:

- `todosync serve` (with `--workers N`);
- `floor`: a raw ASGI app (`floor_app`) that answers with the bytes captured from serve, in
  one uvicorn process: the server's own cost;
- `db floor`: a minimal Starlette app (`floor_db_app`) that runs serve's SQL statements
  through serve's engine and driver, in N uvicorn processes like serve: the framework +
  database floor. Before it is loaded, its answers are checked byte for byte against
  serve's (a mismatch stops the benchmark).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks import dataset, procs
from benchmarks.stats import ratio
from todosync.db import engine as db_engine

__all__ = ["COLUMNS", "CONNECTIONS", "parse_wrk", "run", "wrk_script"]

CONNECTIONS = 50
ITEMS = 200
COLUMNS = (
    "phase",
    "target",
    "requests_per_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "ratio_to_floor",
    "ratio_to_db_floor",
    "generator",
)


class ResponsesDiffer(RuntimeError):
    """The db floor does not answer with serve's bytes: its figures would mean nothing."""


def run(*, database: str, workdir: Path, seconds: float, workers: int = 1) -> dict[str, Any]:
    """Both phases against serve and the two floors; `{"phases": [...], ...}`."""
    dbs = dataset.Databases(server_url=None if database == "sqlite" else database)
    try:
        url = dbs.fresh("api_load")
        dataset.seed_local(url, lists=1, items_per_list=ITEMS)
        return _run_on(url, workdir=workdir, seconds=seconds, kind=dbs.kind, workers=workers)
    finally:
        dbs.close()


def _run_on(
    database_url: str, *, workdir: Path, seconds: float, kind: str, workers: int
) -> dict[str, Any]:
    env = procs.base_env(
        TODOSYNC_DATABASE_URL=database_url,
        TODOSYNC_LOG_LEVEL="WARNING",
        TODOSYNC_SYNC_INTERVAL_SECONDS="0",
    )
    token = _create_token(env, workdir)
    list_id, item_ids = _ids(database_url)
    phases = {
        "get_items_page": {"method": "GET", "paths": [f"/api/todolists/{list_id}/items?limit=50"]},
        "patch_item": {
            "method": "PATCH",
            "paths": [f"/api/todolists/{list_id}/items/{i}" for i in item_ids],
        },
    }
    port = procs.free_port()
    serve = procs.start_background(
        ["-m", "todosync", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=workdir,
        port=port,
        ready_path="/healthz",
    )
    db_floor = None
    try:
        captured = _capture(serve.url, token, phases)
        rows = [_load(serve.url, token, name, p, seconds, workdir) for name, p in phases.items()]
        db_floor = _start_db_floor(database_url, workers=workers)
        check_same_bytes(serve.url, db_floor.url, token, list_id, item_ids[0])
    except BaseException:
        if db_floor is not None:
            db_floor.stop()
        raise
    finally:
        serve_rss = serve.stop()
    try:
        db_floor_rows = [
            _load(db_floor.url, token, name, p, seconds, workdir) | {"target": "db floor"}
            for name, p in phases.items()
        ]
    finally:
        db_floor.stop()
    floor_rows = _floor_rows(captured, token, phases, seconds, workdir)
    for row, floor, db in zip(rows, floor_rows, db_floor_rows, strict=True):
        row["ratio_to_floor"] = _share(row["requests_per_s"], floor["requests_per_s"])
        row["ratio_to_db_floor"] = _share(row["requests_per_s"], db["requests_per_s"])
    return {
        "database": kind,
        "connections": CONNECTIONS,
        "seconds_per_phase": seconds,
        "workers": workers,
        "floor_workers": 1,
        "db_floor_workers": workers,
        "serve_peak_rss_mb": round(serve_rss, 1),
        "phases": [r for trio in zip(rows, floor_rows, db_floor_rows, strict=True) for r in trio],
    }


def _start_db_floor(database_url: str, *, workers: int) -> procs.Background:
    port = procs.free_port()
    return procs.start_background(
        ["-m", "benchmarks.floor_db_app", str(port), database_url, str(workers)],
        env=procs.base_env(),
        cwd=procs.REPO_ROOT,
        port=port,
        ready_path="/healthz",
    )


def check_same_bytes(
    serve_url: str, floor_url: str, token: str, list_id: int, item_id: int
) -> None:
    """Raises `ResponsesDiffer` unless the db floor answers both requests as serve does: the
    same page; a PATCH whose body is the item as serve then reads it; and serve's PATCH as
    the floor then reads it (each side reads what the other wrote)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    page = f"/api/todolists/{list_id}/items?limit=50"
    item = f"/api/todolists/{list_id}/items/{item_id}"
    with httpx.Client(headers=headers, timeout=30) as http:
        _same(http.get(serve_url + page), http.get(floor_url + page), what="GET page")
        current = http.get(serve_url + item).json()["completed"]
        flip = json.dumps({"completed": not current}).encode()
        floor_patch = http.patch(floor_url + item, content=flip)
        _same(http.get(serve_url + item), floor_patch, what="the floor's PATCH")
        flip_back = json.dumps({"completed": current}).encode()
        serve_patch = http.patch(serve_url + item, content=flip_back)
        _same(serve_patch, http.get(serve_url + item), what="serve's PATCH")
        _same(http.get(serve_url + page), http.get(floor_url + page), what="GET page after")


def _same(serve: httpx.Response, floor: httpx.Response, *, what: str) -> None:
    ours = (serve.status_code, serve.headers.get("content-type"), serve.content)
    theirs = (floor.status_code, floor.headers.get("content-type"), floor.content)
    if ours != theirs:
        raise ResponsesDiffer(
            f"{what}: serve {ours[:2]} {ours[2][:300]!r}, db floor {theirs[:2]} {theirs[2][:300]!r}"
        )


def _floor_rows(
    captured: dict[str, Any], token: str, phases: dict[str, Any], seconds: float, workdir: Path
) -> list[dict[str, Any]]:
    responses_file = workdir / "floor_responses.json"
    responses_file.write_text(json.dumps(captured))
    port = procs.free_port()
    floor = procs.start_background(
        ["-m", "benchmarks.floor_app", str(port), str(responses_file)],
        env=procs.base_env(),
        cwd=procs.REPO_ROOT,
        port=port,
        ready_path="/",
    )
    try:
        return [
            _load(floor.url, token, name, p, seconds, workdir) | {"target": "floor"}
            for name, p in phases.items()
        ]
    finally:
        floor.stop()


def _share(value: float, floor: float) -> float | None:
    share = ratio(value, floor)
    return None if share is None else round(share, 3)


def _create_token(env: dict[str, str], workdir: Path) -> str:
    done = procs.run_measured(["-m", "todosync", "tokens", "create"], env=env, cwd=workdir)
    if done.exit_code != 0:
        raise RuntimeError(f"tokens create failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


def _ids(database_url: str) -> tuple[int, list[int]]:
    engine = sa.create_engine(db_engine.sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT list_id, id FROM todo_items ORDER BY id")).all()
    finally:
        engine.dispose()
    return rows[0][0], [row[1] for row in rows]


def _capture(url: str, token: str, phases: dict[str, Any]) -> dict[str, Any]:
    """One answer of each kind from `todosync serve`, for the floor app to repeat verbatim."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers) as http:
        get = http.get(phases["get_items_page"]["paths"][0]).raise_for_status()
        patch_path = phases["patch_item"]["paths"][0]
        patch = http.patch(patch_path, content=b'{"completed": true}').raise_for_status()
    return {
        method: {
            "status": r.status_code,
            "content_type": r.headers["content-type"],
            "body": r.text,
        }
        for method, r in (("GET", get), ("PATCH", patch))
    }


def _load(
    url: str, token: str, name: str, phase: dict[str, Any], seconds: float, workdir: Path
) -> dict[str, Any]:
    if shutil.which("wrk"):
        figures = _wrk(url, token, phase, seconds, workdir)
        generator = "wrk"
    else:
        figures = _python_load(url, token, phase, seconds, workdir)
        generator = "loadgen.py"
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
    return {"phase": name, "target": "todosync serve", "generator": generator} | rounded


def _python_load(
    url: str, token: str, phase: dict[str, Any], seconds: float, workdir: Path
) -> dict[str, Any]:
    spec_file = workdir / "loadgen.json"
    spec = phase | {"url": url, "token": token, "seconds": seconds, "connections": CONNECTIONS}
    spec_file.write_text(json.dumps(spec))
    done = procs.run_measured(
        ["-m", "benchmarks.loadgen", str(spec_file)], env=procs.base_env(), cwd=procs.REPO_ROOT
    )
    spec_file.unlink()
    if done.exit_code != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return done.last_json()


def _wrk(
    url: str, token: str, phase: dict[str, Any], seconds: float, workdir: Path
) -> dict[str, Any]:
    # The token goes into the script file, not onto a command line that `ps` shows.
    script = workdir / "load.lua"
    script.write_text(wrk_script(phase, token))
    # One wrk thread is plenty for 50 connections and leaves the other core to the server.
    duration = f"-d{max(1, round(seconds))}s"  # wrk takes whole seconds only
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", duration, "--latency", "-s", str(script)]
    try:
        done = subprocess.run(
            [*args, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
    finally:
        script.unlink()
    return parse_wrk(done.stdout)


def wrk_script(phase: dict[str, Any], token: str) -> str:
    """A wrk Lua script that sends the phase's requests like `loadgen.request_for`."""
    paths = ", ".join(json.dumps(p) for p in phase["paths"])
    return f"""
wrk.method = "{phase["method"]}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
local paths = {{ {paths} }}
local n = 0
request = function()
  local path = paths[(n % #paths) + 1]
  local body = nil
  if wrk.method == "PATCH" then
    local completed = (math.floor(n / #paths) % 2 == 0) and "true" or "false"
    body = '{{"completed": ' .. completed .. '}}'
  end
  n = n + 1
  return wrk.format(nil, path, nil, body)
end
"""


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50 and p99 in ms, and failed requests, from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise ValueError("no Requests/sec in wrk output")
    latency = {
        share: float(value) * _UNITS_MS[unit]
        for share, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    requests = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\w+ (\d+)", socket_errors.group(0)))
    return {
        "requests": int(requests.group(1)) if requests else None,
        "requests_per_s": float(rps.group(1)),
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "errors": errors,
    }
