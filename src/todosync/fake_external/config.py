"""Settings of one fake external API server.

`RuntimeConfig` holds what `PUT /__control/config` may change while the server runs;
`ServerConfig` adds what is fixed at start (address, state file, start-up faults).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from todosync.fake_external import faults

__all__ = ["DEFAULT_PORT", "RuntimeConfig", "ServerConfig", "merge_runtime"]

DEFAULT_PORT = 8100

PageSize = Annotated[int, msgspec.Meta(ge=1)]


class RuntimeConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Behaviour that tests may switch at run time."""

    token: str | None = None
    """Bearer token that every public request must carry; None turns authentication off."""
    clock_offset_s: float = 0.0
    """Added to the server's clock: the `Date` header, `created_at` and `updated_at`."""
    page_size: PageSize | None = None
    """Lists per page of `GET /todolists` (with `Link: rel="next"`); None means no paging."""
    item_create: bool = False
    """Whether the `POST /todolists/{id}/todoitems` extension exists."""
    bump_list_on_item_change: bool = True
    """Whether creating, changing or deleting an item also bumps its list's `updated_at`."""
    validation: bool = True
    """Whether request bodies are checked (off: a server that checks nothing, storing nulls
    and wrong types as sent, as another team's implementation was seen to)."""
    empty_patch_bumps: bool = False
    """Whether a PATCH that changes nothing still bumps `updated_at`."""


class ServerConfig(msgspec.Struct, kw_only=True):
    """Everything needed to start a server."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    """0 picks a free port (see `RunningServer.url`)."""
    state_path: str | None = None
    """SQLite file that keeps the data across restarts; None keeps it in memory."""
    seed_sample: bool = False
    """Whether to create a few sample lists at start when the data set is empty."""
    runtime: RuntimeConfig = msgspec.field(default_factory=RuntimeConfig)
    faults: faults.FaultConfig = msgspec.field(default_factory=faults.FaultConfig)


def merge_runtime(current: RuntimeConfig, changes: Any) -> RuntimeConfig:
    """`current` with the fields in the JSON object `changes` replaced; raises
    `msgspec.ValidationError` for unknown fields, wrong types or a non-object."""
    if not isinstance(changes, dict):
        raise msgspec.ValidationError("Expected `object`")
    merged = msgspec.structs.asdict(current) | changes
    return msgspec.convert(merged, RuntimeConfig)
