"""Fixtures for job tests: the sync tests' settings and local side, reused as they are."""

from __future__ import annotations

from tests.sync.conftest import local, sync_settings

__all__ = ["local", "sync_settings"]
