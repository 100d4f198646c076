"""History tests reuse the sync tier's fixtures: an engine over the test database and the
fake external API as a real server."""

from __future__ import annotations

from tests.sync.conftest import local, run_sync, sync_settings

__all__ = ["local", "run_sync", "sync_settings"]
