"""Child processes: the fake external API, `todosync` commands, and their peak memory.

Every measured program runs as its own process, started with this interpreter
(`python -m todosync ...`, never through a wrapper such as `uv run`). Its peak RSS is the
kernel's high-water mark of its own address space (`VmHWM` in `/proc/PID/status`), read
while it runs: `getrusage`/`wait4`'s `ru_maxrss` is no good here, because Linux carries the
parent's RSS at fork time over into the child's `ru_maxrss`, and this runner holds the big
data sets.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "Background",
    "Finished",
    "base_env",
    "free_port",
    "run_measured",
    "start_background",
    "wait_until_up",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Finished:
    """A child that ran to its end."""

    exit_code: int
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    def last_json(self) -> dict[str, Any]:
        """The JSON object on the last non-empty line of stdout (`--json` output)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if not lines:
            raise RuntimeError(f"no output (exit {self.exit_code}): {self.stderr[-2000:]}")
        value = json.loads(lines[-1])
        if not isinstance(value, dict):
            raise RuntimeError("the last line is not a JSON object")
        return value


def run_measured(args: list[str], *, env: dict[str, str], cwd: Path) -> Finished:
    """Runs `python args...` to its end; the wall time and the child's own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=err, env=env, cwd=cwd)
        peak_mb = 0.0
        while proc.poll() is None:
            # VmHWM only grows, so the last reading before the exit is the peak, short of
            # the final 10 ms (the run's end, where nothing big is allocated any more).
            peak_mb = max(peak_mb, peak_rss_mb(proc.pid))
            time.sleep(0.01)
        wall_s = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Finished(
            exit_code=proc.returncode,
            wall_s=wall_s,
            peak_rss_mb=peak_mb,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def peak_rss_mb(pid: int) -> float:
    """The high-water mark of a running process's RSS in MB; 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return 0.0


@dataclass(slots=True)
class Background:
    """A server child process; `stop()` ends it and returns its peak RSS in MB."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Any

    def stop(self) -> float:
        peak_mb = peak_rss_mb(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return peak_mb


def start_background(
    args: list[str], *, env: dict[str, str], cwd: Path, port: int, ready_path: str
) -> Background:
    """Starts `python args...` and waits until `ready_path` answers on `port`."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Background.stop)
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=cwd
    )
    url = f"http://127.0.0.1:{port}"
    background = Background(proc=proc, url=url, log=log)
    try:
        wait_until_up(url + ready_path, proc=proc)
    except RuntimeError:
        background.stop()
        log.seek(0)
        raise RuntimeError(f"{args[:3]} did not start: {log.read().decode()[-2000:]}") from None
    return background


def wait_until_up(url: str, *, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Polls `url` until it answers below 500, or fails when the process ends or time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the process ended")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out")


def free_port() -> int:
    """A port that is free now (the kernel's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(**settings: str) -> dict[str, str]:
    """The environment of a child: ours without any `TODOSYNC_*`, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODOSYNC_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        # Without bytecode caching every child would compile all its sources anew (~3 s
        # here): cache it outside the working tree instead, as an installed package would.
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "todosync-bench-pycache")
    return env | settings
