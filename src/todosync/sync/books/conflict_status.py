"""A conflict's status, in the database, the API and the dashboard.

    open ──> resolved | dismissed | obsolete

Only an open conflict counts (the status, the metrics, the dashboard) and can be closed; the
three closed statuses differ in who closed it and whether data changed. Members compare equal
to, and are stored and serialized as, their plain strings.
"""

from __future__ import annotations

import enum

__all__ = ["ConflictStatus"]


class ConflictStatus(enum.StrEnum):
    OPEN = "open"
    """Decided automatically (last write wins) and waiting for review."""
    RESOLVED = "resolved"
    """Someone chose the value to keep; a value that differed became a new local version."""
    DISMISSED = "dismissed"
    """Someone closed it as it stands: the automatic winner stays, no data changed."""
    OBSOLETE = "obsolete"
    """A sync run closed it because its list or item is gone (deleted or purged locally)."""
