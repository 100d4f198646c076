"""A load generator in Python, for machines without `wrk`: `python -m benchmarks.loadgen
SPEC.json` keeps `connections` requests in flight for `seconds` and prints requests/s and
latency percentiles as JSON. It is slower than wrk and can itself be the bottleneck; the
floor is measured with the same generator, so the ratio stays fair but both are lower.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.stats import percentile

__all__ = ["generate", "request_for"]


def request_for(spec: dict[str, Any], n: int) -> tuple[str, str, bytes | None]:
    """The n-th request of a phase: method, path and body (PATCHes flip `completed` on each
    pass over the items, so that every one of them is a real write)."""
    paths: list[str] = spec["paths"]
    path = paths[n % len(paths)]
    if spec["method"] != "PATCH":
        return spec["method"], path, None
    completed = "true" if (n // len(paths)) % 2 == 0 else "false"
    return "PATCH", path, f'{{"completed": {completed}}}'.encode()


async def generate(spec: dict[str, Any]) -> dict[str, Any]:
    connections: int = spec["connections"]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {spec['token']}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**12))
    deadline = time.perf_counter() + spec["seconds"]

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            method, path, body = request_for(spec, next(counter))
            started = time.perf_counter()
            response = await http.request(method, path, content=body)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code >= 400

    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=spec["url"], headers=headers, limits=limits, timeout=30.0
    ) as http:
        await asyncio.gather(*(worker(http) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": errors,
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(generate(spec))))


if __name__ == "__main__":
    main()
