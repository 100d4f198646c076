"""Applies actions that call the external API: the call first, outside any transaction, then
the local half and the ledger, handed to the phase's group-commit writer (`outcomes`) as an
`Outcome` that commits with the other calls answered meanwhile.

A crash between the call and the commit is safe by construction: creates carry the local
uid as `source_id` and are adopted on the next pull; updates are found already agreed; deletes
find the entity gone; a list re-create writes its intent before it starts (and, being rare and
multi-step, commits its own transactions).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todosync.db import engine as db_engine
from todosync.external import errors as ext_errors
from todosync.external.client import ExternalClient
from todosync.external.schemas import NewItem, NewList, RemoteItem, RemoteList
from todosync.store import bulk
from todosync.sync.apply import local_apply
from todosync.sync.apply.local_apply import LocalWriter
from todosync.sync.apply.outcomes import Outcome
from todosync.sync.apply.read_ahead import ReadAhead
from todosync.sync.books import ledger
from todosync.sync.books.report import Tally
from todosync.sync.core import actions as act
from todosync.sync.core.fields import Fields, list_digest
from todosync.sync.core.plan import INTENT_DELETE_OLD, INTENT_RECREATE

__all__ = ["UNAGREED", "RemoteApplier"]

log = logging.getLogger(__name__)

# The local version recorded for content that a crashed run sent but did not record: the local
# row may have changed since, and no real version is 0, so the next run compares its fields
# with the remote content recorded here (a three-way merge) instead of trusting them equal.
UNAGREED = 0


class RemoteApplier:
    """Runs remote-side actions for one run; `push` raises when the call failed."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: ExternalClient,
        writer: LocalWriter,
        connection_id: int,
    ) -> None:
        self.sessionmaker = sessionmaker
        # reads run beside the writer (on SQLite a write transaction would queue for its lock)
        self.read_sessionmaker = db_engine.read_only_twin(sessionmaker)
        self.client = client
        self.writer = writer
        self.connection_id = connection_id
        # One writer at a time: SQLite has one write lock, and short transactions keep it free.
        self._write_lock = asyncio.Lock()
        self._lists = ReadAhead(self._read, [])

    def read_ahead(self, actions: Sequence[act.Action]) -> None:
        """Reads the lists that `actions` will POST a group at a time, as the calls ask."""
        ids = [
            a.local_id
            for a in actions
            if isinstance(a, act.CreateRemoteList | act.RecreateRemoteList)
        ]
        self._lists = ReadAhead(self._read, ids)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, one at a time (the writer's batches, a re-create's steps)."""
        async with self._write_lock, self.sessionmaker.begin() as session:
            yield session

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self.read_sessionmaker() as session:
            yield session

    async def push(self, action: act.Action, tally: Tally) -> Outcome | None:
        """Makes one action's call; what it leaves to commit, if anything. An action with
        nothing to send (its entity gone since the plan) is counted as skipped on `tally`."""
        if isinstance(action, act.Update):
            return await self._update(action)
        if isinstance(action, act.Adopt):
            return await self._adopt(action)
        if isinstance(action, act.CreateRemoteList):
            return await self._create_list(action, tally)
        if isinstance(action, act.CreateRemoteItem):
            return await self._create_item(action, tally)
        if isinstance(action, act.DeleteRemote):
            return await self._delete(action)
        if isinstance(action, act.RecreateRemoteList):
            staged = tally.staged()
            await self._recreate(action, staged)  # commits its own steps
            tally.merge(staged)
            return None
        # the executor routes local actions elsewhere
        raise TypeError(f"not a remote action: {type(action).__name__}")  # pragma: no cover

    async def _patch(
        self, kind: str, external_id: str, parent_external_id: str, push: dict[str, Any]
    ) -> None:
        if kind == "list":
            await self.client.update_list(external_id, name=str(push["name"]))
        else:
            await self.client.update_item(
                parent_external_id,
                external_id,
                description=_opt_str(push.get("description")),
                completed=_opt_bool(push.get("completed")),
            )

    async def _update(self, action: act.Update) -> Outcome:
        await self._patch(action.kind, action.external_id, action.parent_external_id, action.push)
        return Outcome(
            action, lambda session, tally: self.writer.finish_update(session, action, tally)
        )

    async def _adopt(self, action: act.Adopt) -> Outcome:
        await self._patch(action.kind, action.external_id, action.parent_external_id, action.push)
        return Outcome(
            action, lambda session, tally: self.writer.finish_adopt(session, action, tally)
        )

    async def _delete(self, action: act.DeleteRemote) -> Outcome:
        try:
            if action.kind == "list":
                await self.client.delete_list(action.external_id)
            else:
                await self.client.delete_item(action.parent_external_id, action.external_id)
        except ext_errors.NotFound:
            pass  # already gone: that is what we wanted
        if action.reason == "duplicate":
            # two remote copies carried one local uid: one was kept, this one is gone
            log.warning("deleted a duplicate remote %s %s", action.kind, action.external_id)
        return Outcome(action, functools.partial(self._deleted, action=action))

    async def _deleted(
        self, session: AsyncSession, tally: Tally, *, action: act.DeleteRemote
    ) -> None:
        await ledger.delete_rows(session, action.ledger_ids)
        if action.reason == "replaced" and action.local_id is not None:
            await ledger.clear_intent(
                session, connection_id=self.connection_id, list_local_id=action.local_id
            )
        tally.count("remote", "delete", max(1, len(action.ledger_ids)))
        tally.log(
            kind=action.kind,
            action="delete",
            side="remote",
            local_id=action.local_id,
            external_id=action.external_id,
            reason=None if action.reason == "deleted" else action.reason,
        )

    async def _create_list(self, action: act.CreateRemoteList, tally: Tally) -> Outcome | None:
        loaded = await self._lists.get(action.local_id)
        if loaded is None:
            tally.counts["skipped"] += 1  # deleted here since the plan was made
            return None
        row, items = loaded
        created = await self.client.create_list(_new_list(row, items))
        rows = self._rows_for(row, items, created, sent=True)
        return Outcome(
            action,
            functools.partial(
                _replaced,
                ledger_ids=action.replaces_ledger_ids,
                count=1 + len(items),
                entry={
                    "kind": "list",
                    "local_id": row.id,
                    "external_id": created.id,
                    "fields": ["name"],
                },
            ),
            rows,
        )

    async def _create_item(self, action: act.CreateRemoteItem, tally: Tally) -> Outcome | None:
        async with self._read() as session:
            item = await bulk.get_item(session, action.local_id)
        if item is None or item.deleted:
            tally.counts["skipped"] += 1
            return None
        created = await self.client.create_item(
            action.list_external_id, NewItem(item.uid, item.description, item.completed)
        )
        row = self._item_row(item, created, action.list_external_id, action.list_local_id)
        return Outcome(
            action,
            functools.partial(
                _replaced,
                ledger_ids=action.replaces_ledger_ids,
                count=1,
                entry={
                    "kind": "item",
                    "local_id": item.id,
                    "external_id": created.id,
                    "fields": ["description", "completed"],
                },
            ),
            [row],
        )

    async def _recreate(self, action: act.RecreateRemoteList, tally: Tally) -> None:
        loaded = await self._lists.get(action.local_id)
        if loaded is None:
            tally.counts["skipped"] += 1
            return
        row, items = loaded
        created = action.landed
        if created is None:
            async with self.transaction() as session:
                # the intent comes first, so a crash at any later point is recoverable
                await ledger.set_intent(
                    session,
                    action.ledger_id,
                    intent=INTENT_RECREATE,
                    data={"old_external_id": action.old_external_id},
                )
            created = await self.client.create_list(_new_list(row, items))
        await self._remap(action, row, items, created, sent=action.landed is None)
        tally.count("remote", "create", len(action.new_item_ids))
        tally.log(
            kind="list",
            action="recreate",
            side="remote",
            local_id=row.id,
            external_id=created.id,
            reason=f"replaces {action.old_external_id}",
        )
        with suppress(ext_errors.NotFound):
            await self.client.delete_list(action.old_external_id)
        async with self.transaction() as session:
            await ledger.clear_intent(
                session, connection_id=self.connection_id, list_local_id=row.id
            )
            await _flush_log(session, tally)

    async def _remap(
        self,
        action: act.RecreateRemoteList,
        row: bulk.Row,
        items: Sequence[bulk.Row],
        created: RemoteList,
        *,
        sent: bool,
    ) -> None:
        rows = self._rows_for(row, items, created, sent=sent)
        async with self.transaction() as session:
            await ledger.delete_item_rows_under(
                session,
                connection_id=self.connection_id,
                parent_external_ids=[action.old_external_id, created.id],
            )
            list_fields: Fields = {"name": row.name if sent else created.name}
            await ledger.remap_list(
                session,
                action.ledger_id,
                external_id=created.id,
                fields=list_fields,
                local_version=row.version if sent else UNAGREED,
                remote_updated_at=created.updated_at,
                synced_at=self.writer.clock(),
                intent=INTENT_DELETE_OLD,
                intent_data={"old_external_id": action.old_external_id},
            )
            await ledger.insert_rows(session, rows[1:])

    def _rows_for(
        self, row: bulk.Row, items: Sequence[bulk.Row], created: RemoteList, *, sent: bool
    ) -> list[dict[str, Any]]:
        """Ledger rows for a list POSTed with its items: the list first, then matched items.

        With `sent`, the agreed content is what was sent (so a server that normalises text
        is pulled back once, rather than pushed forever). Without it (a landed POST of an
        earlier run), the remote content is recorded against `UNAGREED`."""
        list_fields: Fields = {"name": row.name if sent else created.name}
        pairs = _match_items(items, created.items)
        rows = [
            ledger.new_row(
                connection_id=self.connection_id,
                kind="list",
                local_id=row.id,
                local_uid=row.uid,
                external_id=created.id,
                fields=list_fields,
                local_version=row.version if sent else UNAGREED,
                remote_updated_at=created.updated_at,
                synced_at=self.writer.clock(),
                items_digest=_sent_digest(row, pairs, created) if sent else None,
            )
        ]
        for item, remote in pairs:
            rows.append(self._item_row(item, remote, created.id, row.id, sent=sent))
        return rows

    def _item_row(
        self,
        item: bulk.Row,
        remote: RemoteItem,
        list_external_id: str,
        list_local_id: int,
        *,
        sent: bool = True,
    ) -> dict[str, Any]:
        source = item if sent else remote
        return ledger.new_row(
            connection_id=self.connection_id,
            kind="item",
            local_id=item.id,
            local_uid=item.uid,
            external_id=remote.id,
            parent_external_id=list_external_id,
            parent_local_id=list_local_id,
            fields={"description": source.description, "completed": source.completed},
            local_version=item.version if sent else UNAGREED,
            remote_updated_at=remote.updated_at,
            synced_at=self.writer.clock(),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_bool(value: object) -> bool | None:
    return None if value is None else bool(value)


def _new_list(row: bulk.Row, items: Sequence[bulk.Row]) -> NewList:
    return NewList(
        source_id=row.uid,
        name=row.name,
        items=[NewItem(i.uid, i.description, i.completed) for i in items],
    )


def _sent_digest(
    row: bulk.Row, pairs: Sequence[tuple[bulk.Row, RemoteItem]], created: RemoteList
) -> str | None:
    """The digest of a list as sent, when every created item was matched to a sent one (the
    ledger then holds the whole list); if the server changed what it stored, the next pull
    differs from it, and the list is compared item by item."""
    if len(pairs) != len(created.items):
        return None
    return list_digest(row.name, ((r.id, i.description, i.completed) for i, r in pairs))


def _match_items(
    items: Sequence[bulk.Row], remotes: Sequence[RemoteItem]
) -> list[tuple[bulk.Row, RemoteItem]]:
    """Pairs sent items with created ones by `source_id`, or by position when the server
    does not echo `source_id` and the counts agree."""
    by_uid = {item.uid: item for item in items}
    pairs = [(by_uid[r.source_id], r) for r in remotes if r.source_id in by_uid]
    if not pairs and len(items) == len(remotes):
        pairs = list(zip(items, remotes, strict=True))
    return pairs


async def _replaced(
    session: AsyncSession,
    tally: Tally,
    *,
    ledger_ids: Sequence[int],
    count: int,
    entry: dict[str, Any],
) -> None:
    """The writes of a remote create beside its new ledger rows: the rows it replaces go,
    and it is counted and logged."""
    await ledger.delete_rows(session, ledger_ids)
    tally.count("remote", "create", count)
    tally.log(action="create", side="remote", **entry)


async def _flush_log(session: AsyncSession, tally: Tally) -> None:
    await local_apply.flush(session, tally)
