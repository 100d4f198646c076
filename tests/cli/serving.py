"""`todosync serve` and `todosync demo` as real subprocesses: start, wait, read, signal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx

from tests.cli.runner import cli_env

__all__ = ["ServerProcess", "free_port"]

STARTUP_TIMEOUT_S = 90.0  # imports alone take 10 s and more on a loaded machine
EXIT_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`python -m todosync ARGS` with its output read by threads, so it can be watched live."""

    def __init__(self, args: list[str], *, database_url: str | None, cwd: Path, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "todosync", *args, "--port", str(self.port)],
            cwd=cwd,
            env=cli_env(database_url, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=_pump, args=(stream, sink), daemon=True)
            for stream, sink in (
                (self.process.stdout, self._stdout),
                (self.process.stderr, self._stderr),
            )
        ]
        for pump in self._pumps:
            pump.start()

    @property
    def stdout(self) -> str:
        return "".join(self._stdout)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def wait_healthy(self) -> None:
        """Waits until `/healthz` answers 200 (fails if the process exits first)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.stderr
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.base_url} did not become healthy:\n{self.stderr}")

    def wait_for_output(self, text: str, *, stderr: bool = True) -> str:
        """Waits until `text` shows up in stderr (or stdout); returns that stream so far."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            seen = self.stderr if stderr else self.stdout
            if text in seen:
                return seen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared:\n{self.stdout}\n{self.stderr}")

    def send(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait_exit(self) -> int:
        """Waits for the process to end; returns its exit status."""
        try:
            code = self.process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError(f"the process did not exit:\n{self.stderr}") from None
        self._drain()
        return code

    def close(self) -> None:
        """Kills the process if it still runs and closes its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._drain()

    def _drain(self) -> None:
        for pump in self._pumps:
            pump.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _pump(stream: IO[str] | None, sink: list[str]) -> None:
    for line in stream or ():
        sink.append(line)
