"""`todosync serve --workers N` with N > 1: N processes behind one port.

The parent binds the socket once and hands it to N children under uvicorn's own supervisor
(`uvicorn.supervisors.Multiprocess`: spawned children, a health-check pipe to each, signal
handling); each child builds its own app (`app.create_app`) and serves it on the shared socket
through `server.run`, as a one-process `serve` does.

- **One sync role.** The scheduler and the dispatcher run in exactly one child: the one that
  wins a non-blocking `flock` on a lock file named after the database (`sync_lock_path`), taken
  at start-up and held for the child's life; the others serve the API only (runs they queue are
  picked up by the holder's dispatcher at its next poll, within a second). The operating system
  releases the lock however the holder ends. In the distributed mode no child takes the role:
  `todosync worker` processes run the syncs.
- **No silent shrinking.** A child that ends (or stops answering the health check) while the
  parent is not stopping stops the whole server: the others are stopped gracefully and
  `run` raises `ChildDied` (one line, exit 1). uvicorn's supervisor would start a new child
  instead; a server that quietly lost its sync role, or keeps crashing, is worse than one that
  stops and lets its service manager restart it whole.
- **No orphans.** A child whose parent has gone (killed with SIGKILL, say) stops as on SIGTERM.
- **Signals.** SIGTERM or SIGINT to the parent stops every child gracefully (each finishes its
  requests and stops its runs between two actions, as a one-process `serve` does); `run` then
  returns. SIGHUP, SIGTTIN and SIGTTOU (uvicorn's restart and resize) are ignored: a new child
  could not take the sync role while the old holder lives.
- **One session key.** Without `TODOSYNC_SESSION_SECRET` the parent makes one random key and
  hands it to every child with the settings (pickled over the spawn pipe, never logged), so a
  dashboard session signed by one child is good in the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from pydantic import SecretStr
from uvicorn.supervisors import multiprocess

from todosync import logging as todosync_logging
from todosync import server
from todosync.config import RunMode, Settings
from todosync.db import engine as db_engine
from todosync.errors import TodosyncError

__all__ = ["ChildDied", "Unsupported", "require_supported", "run", "sync_lock_path"]

log = logging.getLogger(__name__)

# How long a child may take to answer the supervisor's ping: a child answers from a thread of
# its own, but only once its interpreter has started and unpickled its part, which takes
# seconds on a busy machine; a child silent this long is taken for hung.
_HEALTHCHECK_TIMEOUT_S = 30


class Unsupported(TodosyncError):
    """Several processes asked for where they cannot work."""


class ChildDied(TodosyncError):
    """A child process ended while the server was not stopping."""


def require_supported(settings: Settings, *, workers: int) -> None:
    """Raises `Unsupported` for several processes over SQLite (one writer at a time)."""
    backend = db_engine.sync_url(settings.database_url).get_backend_name()
    if workers > 1 and backend != "postgresql":
        raise Unsupported(
            f"--workers {workers} needs PostgreSQL: SQLite takes one writer at a time, so "
            "several processes would only wait for each other (use --workers 1)"
        )


def sync_lock_path(database_url: str) -> Path:
    """The lock file whose holder runs the scheduler and the dispatcher for this database (a
    hash of the URL names it: the URL may carry a password)."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"todosync-{os.getuid()}-{digest}.sync.lock"


def run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serves with `workers` processes until SIGTERM or SIGINT (then returns); raises
    `ChildDied` when one of them ends first, after stopping the others."""
    require_supported(settings, workers=workers)
    if settings.session_secret is None:
        shared = SecretStr(secrets.token_urlsafe(32))
        settings = settings.model_copy(update={"session_secret": shared})
        log.info("no TODOSYNC_SESSION_SECRET: dashboard sessions last until restart")
    distributed = settings.run_mode is RunMode.DISTRIBUTED
    spec = _ChildSpec(
        settings=settings,
        host=host,
        port=port,
        lock_path=None if distributed else sync_lock_path(settings.database_url),
    )
    sock = server.bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    log.info("serving on %s:%d with %d processes", bound_host, bound_port, workers)
    # The supervisor reads `workers` and the health-check timeout of this config; each child
    # builds its own app and server (`_Child.target`), so `app` here is never loaded.
    config = uvicorn.Config(
        app=_never_loaded,
        workers=workers,
        log_config=None,
        timeout_worker_healthcheck=_HEALTHCHECK_TIMEOUT_S,
    )
    supervisor = _Supervisor(config, [sock], spec=spec)
    try:
        supervisor.run()
    finally:
        sock.close()
    if supervisor.failure is not None:
        raise ChildDied(supervisor.failure)


def _never_loaded() -> None:  # pragma: no cover - a placeholder for uvicorn.Config's `app`
    raise AssertionError("each child builds its own app")


@dataclass(frozen=True, slots=True, kw_only=True)
class _ChildSpec:
    """What a child needs to serve (pickled to it at spawn)."""

    settings: Settings
    host: str
    port: int
    lock_path: Path | None
    """None: no child runs syncs (the distributed mode)."""


class _Supervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, with our children, and stopping instead of restarting."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], *, spec: _ChildSpec
    ) -> None:
        super().__init__(config, sockets)
        self._spec = spec
        self.failure: str | None = None

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            child = _Child(self.config, self.sockets, spec=self._spec)
            child.start()
            self.processes.append(child)

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return  # stopping: children end on purpose
        for child in self.processes:
            if child.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            hung = child.exitcode is None
            child.kill()
            child.join()
            self.failure = f"serve process {child.pid} {_how_it_ended(child.exitcode, hung=hung)}"
            log.error("%s; stopping the others", self.failure)
            self.should_exit.set()
            return

    def handle_hup(self) -> None:
        log.warning("SIGHUP ignored: restart `todosync serve` as a whole")

    def handle_ttin(self) -> None:
        log.warning("SIGTTIN ignored: the number of processes is fixed by --workers")

    def handle_ttou(self) -> None:
        log.warning("SIGTTOU ignored: the number of processes is fixed by --workers")


def _how_it_ended(exitcode: int | None, *, hung: bool) -> str:
    if hung:
        return "stopped answering its health check and was killed"
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited unexpectedly with status {exitcode}"


class _Child(multiprocess.Process):
    """One serving process; its `target` runs in the child."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], *, spec: _ChildSpec
    ) -> None:
        super().__init__(config, sockets)
        self._spec = spec
        self._serving = False

    def pong(self) -> None:
        # uvicorn's answers with its own `Server`'s state; ours is made in `target`
        self.child_conn.recv()
        self.child_conn.send(self._serving)

    def always_pong(self) -> None:
        try:
            while True:
                self.pong()
        except (EOFError, OSError):
            # the parent is gone without stopping us (killed, say): stop as if told to, so
            # that no child serves on without its supervisor
            os.kill(os.getpid(), signal.SIGTERM)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        # The parent's end came along in the pickle: closed here, the pipe ends when the
        # parent does, which is how `always_pong` learns of it.
        self.parent_conn.close()
        threading.Thread(target=self.always_pong, daemon=True).start()
        assert sockets
        _serve_child(self._spec, sock=sockets[0], on_started=self._started)

    def _started(self, _: str) -> None:
        self._serving = True


def _serve_child(
    spec: _ChildSpec, *, sock: socket.socket, on_started: Callable[[str], None]
) -> None:
    # imported here, not at the top: the child unpickles this module before it can answer
    # the supervisor's health check, so its import must stay light
    from todosync import runtime
    from todosync.app import create_app

    settings = spec.settings
    todosync_logging.configure(level=settings.log_level, json_format=settings.log_format == "json")
    with _sync_role(spec.lock_path) as sync_role:
        log.info(
            "serve process %d: %s",
            os.getpid(),
            "runs the scheduler and the dispatcher" if sync_role else "serves the API only",
        )
        api = create_app(settings, dispatcher=sync_role, scheduler=sync_role)
        server.run(
            api,
            host=spec.host,
            port=spec.port,
            settings=settings,
            name=f"todosync[{os.getpid()}]",  # on every line: which process wrote it
            sock=sock,
            on_started=on_started,
            on_signal=runtime.services_of(api).request_stop,
        )


@contextlib.contextmanager
def _sync_role(lock_path: Path | None) -> Iterator[bool]:
    """True while this process holds the sync role's lock (taken without waiting)."""
    if lock_path is None:
        yield False
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False  # another process of this database has it
        yield held
    finally:
        os.close(fd)  # releases the lock (as the process's end would)
