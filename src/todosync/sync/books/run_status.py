"""A run's status, in the database, the API, the dashboard, the metrics and the CLI's exit code.

    queued ──> running ──> ok | partial | held | degraded | failed

`FINISHED` is the one definition of "the run is over". Statuses are `StrEnum` members, so they
compare equal to, and are stored and serialized as, their plain strings.
"""

from __future__ import annotations

import enum

__all__ = ["ALARMING", "FINISHED", "UNFINISHED", "RunStatus"]


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    """Nothing left undone (quarantined entities from earlier runs aside)."""
    PARTIAL = "partial"
    """Some entities failed or were quarantined, or the run was stopped between actions."""
    HELD = "held"
    """The mass-delete guard held its destructive actions back."""
    DEGRADED = "degraded"
    """The external API was unreachable or its circuit open."""
    FAILED = "failed"
    """The run could not go on (bad credentials, an internal error, interrupted)."""


UNFINISHED = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
FINISHED = frozenset(RunStatus) - UNFINISHED
# the finished statuses that need an operator's eye (alerts, warnings in the log)
ALARMING = frozenset({RunStatus.FAILED, RunStatus.HELD, RunStatus.DEGRADED})
