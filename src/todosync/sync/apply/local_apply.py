"""Writes the local side of actions, with their ledger rows and log entries, in the caller's
transaction. Creates are batched into a few bulk statements; the rest are one or two
statements each. Their history events (`history.record`, actor `sync` with the run id) are
staged on the tally and appended in one statement per transaction, with the log. A pulled
change's valid time is the remote `updated_at` corrected for the run's clock skew (as the
merge corrects it); a pulled delete, whose remote time is unknown, takes the write time.
Nothing here talks to the external API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from todosync.clock import Clock
from todosync.history import record
from todosync.store import bulk
from todosync.sync.books import ledger, runs
from todosync.sync.books.report import Tally
from todosync.sync.core import actions as act
from todosync.sync.core import settle

__all__ = ["LocalWriter", "flush", "is_local"]

# the fields a new item's log entry names (one list, shared by every such entry)
_ITEM_FIELDS = ["description", "completed"]


def is_local(action: act.Action) -> bool:
    """True for actions that need no call to the external API."""
    if isinstance(action, act.Update | act.Adopt):
        return not action.push
    return isinstance(
        action, act.CreateLocalList | act.CreateLocalItem | act.DeleteLocal | act.Forget | act.Hold
    )


class LocalWriter:
    """Applies local-side actions and the local half of remote ones for one run."""

    def __init__(
        self,
        *,
        connection_id: int,
        tenant_id: int,
        run_id: int,
        clock: Clock,
        skew_s: float = 0.0,
    ) -> None:
        self.connection_id = connection_id
        self.clock = clock
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.skew_s = skew_s  # the run's effective clock skew (`engine.effective_skew`)
        self.actor = record.Actor("sync", run_id)

    def journal(self, tally: Tally) -> record.Journal:
        """The history journal of `tally`'s transaction (its events go with the tally)."""
        return record.Journal(self.tenant_id, self.actor, rows=tally.events)

    def valid_at(self, remote_updated_at: datetime | None) -> datetime | None:
        """When a pulled change happened, in local time; None (the write time) if unknown."""
        if remote_updated_at is None:
            return None
        return remote_updated_at - timedelta(seconds=self.skew_s)

    async def apply(
        self, session: AsyncSession, actions: Sequence[act.Action], tally: Tally
    ) -> None:
        """Applies local-side actions; bulk for creates. Raises on the first failure."""
        lists = [a for a in actions if isinstance(a, act.CreateLocalList)]
        items = [a for a in actions if isinstance(a, act.CreateLocalItem)]
        await self._create_lists(session, lists, tally)
        await self._create_items(session, items, tally)
        for action in actions:
            if not isinstance(action, act.CreateLocalList | act.CreateLocalItem):
                await self.apply_one(session, action, tally)
        await flush(session, tally)

    async def apply_one(self, session: AsyncSession, action: act.Action, tally: Tally) -> None:
        if isinstance(action, act.Update):
            await self.finish_update(session, action, tally)
        elif isinstance(action, act.Adopt):
            await self.finish_adopt(session, action, tally)
        elif isinstance(action, act.DeleteLocal):
            await self._delete(session, action, tally)
        elif isinstance(action, act.Forget):
            await ledger.delete_rows(session, action.ledger_ids)
            tally.log(kind=action.kind, action="forget", side="ledger", local_id=action.local_id)
        elif isinstance(action, act.Hold):
            tally.counts["skipped"] += 1
            if action.shortfall:
                tally.shortfalls += 1
                tally.errors.append({"entity": f"list:{action.local_id}", "reason": action.reason})
            tally.log(
                kind=action.kind,
                action="hold",
                side="remote",
                local_id=action.local_id,
                outcome="skipped",
                reason=action.reason,
            )
        else:  # pragma: no cover - the executor routes every other action elsewhere
            raise TypeError(f"not a local action: {type(action).__name__}")

    async def _create_lists(
        self, session: AsyncSession, actions: Sequence[act.CreateLocalList], tally: Tally
    ) -> None:
        if not actions:
            return
        await ledger.delete_rows(session, [i for a in actions for i in a.replaces_ledger_ids])
        news = [
            bulk.NewList(
                name=a.remote.name,
                items=[
                    bulk.NewItem(i.description, i.completed, valid_at=self.valid_at(i.updated_at))
                    for i in a.remote.items
                ],
                valid_at=self.valid_at(a.remote.updated_at),
            )
            for a in actions
        ]
        await bulk.create_lists(
            session, tenant_id=self.tenant_id, lists=news, journal=self.journal(tally)
        )
        # one reading of the clock for the batch's ledger rows and log entries: they commit
        # together, and each distinct time costs a conversion on the way to the database
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for action, new in zip(actions, news, strict=True):
            rows.append(self._list_row(action, new, now=now))
            rows.extend(self._item_rows(action, new, now=now))
            tally.count("local", "create", 1 + len(new.items))
            tally.log(
                kind="list",
                action="create",
                side="local",
                local_id=new.id,
                external_id=action.remote.id,
                fields=["name"],
                at=now,
            )
            tally.log_each(
                zip(
                    (item.id for item in new.items),
                    (remote.id for remote in action.remote.items),
                    strict=True,
                ),
                kind="item",
                action="create",
                side="local",
                fields=_ITEM_FIELDS,
                at=now,
            )
        await ledger.insert_rows(session, rows)

    def _list_row(
        self, action: act.CreateLocalList, new: bulk.NewList, *, now: datetime
    ) -> dict[str, Any]:
        return ledger.new_row(
            connection_id=self.connection_id,
            kind="list",
            local_id=new.id,
            local_uid=new.uid,
            external_id=action.remote.id,
            fields={"name": new.name},
            local_version=1,
            remote_updated_at=action.remote.updated_at,
            synced_at=now,
            # created here with all its items: both sides agree on the whole list
            items_digest=settle.digest_of(action.remote),
        )

    def _item_rows(
        self, action: act.CreateLocalList, new: bulk.NewList, *, now: datetime
    ) -> list[dict[str, Any]]:
        return [
            ledger.new_row(
                connection_id=self.connection_id,
                kind="item",
                local_id=item.id,
                local_uid=item.uid,
                external_id=remote_item.id,
                parent_external_id=action.remote.id,
                parent_local_id=new.id,
                fields={"description": item.description, "completed": item.completed},
                local_version=1,
                remote_updated_at=remote_item.updated_at,
                synced_at=now,
            )
            for item, remote_item in zip(new.items, action.remote.items, strict=True)
        ]

    async def _create_items(
        self, session: AsyncSession, actions: Sequence[act.CreateLocalItem], tally: Tally
    ) -> None:
        if not actions:
            return
        await ledger.delete_rows(session, [i for a in actions for i in a.replaces_ledger_ids])
        news = [
            bulk.NewItem(
                a.remote.description,
                a.remote.completed,
                valid_at=self.valid_at(a.remote.updated_at),
            )
            for a in actions
        ]
        await bulk.create_items(
            session,
            tenant_id=self.tenant_id,
            items=[(a.list_local_id, n) for a, n in zip(actions, news, strict=True)],
            journal=self.journal(tally),
        )
        now = self.clock()  # one reading for the batch, as in `_create_lists`
        rows = []
        for action, new in zip(actions, news, strict=True):
            rows.append(
                ledger.new_row(
                    connection_id=self.connection_id,
                    kind="item",
                    local_id=new.id,
                    local_uid=new.uid,
                    external_id=action.remote.id,
                    parent_external_id=action.list_external_id,
                    parent_local_id=action.list_local_id,
                    fields={"description": new.description, "completed": new.completed},
                    local_version=1,
                    remote_updated_at=action.remote.updated_at,
                    synced_at=now,
                )
            )
            tally.count("local", "create")
            tally.log(
                kind="item",
                action="create",
                side="local",
                local_id=new.id,
                external_id=action.remote.id,
                fields=["description", "completed"],
                at=now,
            )
        await ledger.insert_rows(session, rows)

    async def finish_update(self, session: AsyncSession, action: act.Update, tally: Tally) -> None:
        """Writes the pulled fields (if the row did not move), the ledger and the conflicts."""
        version = await self._pull(session, action, action.expected_version, "update", tally)
        if version is None:
            return  # edited (or deleted) here during the run: the next run merges it
        await ledger.update_row(
            session,
            action.ledger_id,
            kind=action.kind,
            fields=action.merged,
            local_version=version,
            remote_updated_at=action.remote_updated_at,
            synced_at=self.clock(),
        )
        await runs.add_conflicts(session, [self._conflict(action, c) for c in action.conflicts])
        tally.counts["conflicts"] += len(action.conflicts)
        for side, fields in (("local", action.pull), ("remote", action.push)):
            if fields:
                tally.count(side, "update")
                tally.log(
                    kind=action.kind,
                    action="update",
                    side=side,
                    local_id=action.local_id,
                    external_id=action.external_id,
                    fields=sorted(fields),
                )

    async def _pull(
        self,
        session: AsyncSession,
        action: act.Update | act.Adopt,
        expected_version: int,
        verb: str,
        tally: Tally,
    ) -> int | None:
        """Writes the action's pulled fields if the row is still at `expected_version`: the
        version the ledger then records, or None (logged as skipped) if the row moved."""
        if not action.pull:
            return expected_version
        version = await bulk.update_if_version(
            session,
            kind=action.kind,
            entity_id=action.local_id,
            expected_version=expected_version,
            values=dict(action.pull),
            before=dict(action.local),
            journal=self.journal(tally),
            valid_at=self.valid_at(action.remote_updated_at),
        )
        if version is None:
            tally.counts["skipped"] += 1
            tally.log(
                kind=action.kind,
                action=verb,
                side="local",
                local_id=action.local_id,
                external_id=action.external_id,
                outcome="skipped",
                reason="changed locally during the run",
            )
        return version

    def _conflict(self, action: act.Update, conflict: Any) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "run_id": self.run_id,
            "kind": action.kind,
            "local_id": action.local_id,
            "field": conflict.field,
            "base": conflict.base,
            "local": conflict.local,
            "remote": conflict.remote,
            "winner": conflict.winner,
            "skew_s": conflict.skew_s,
            "status": "open",
            "created_at": self.clock(),
        }

    async def finish_adopt(self, session: AsyncSession, action: act.Adopt, tally: Tally) -> None:
        """Maps a remote entity that carries a local uid (its local fields already pushed),
        writing the fields it pulls first (if the row did not move)."""
        version = await self._pull(session, action, action.local_version, "adopt", tally)
        if version is None:
            return  # edited here during the run: the next run adopts it with the new fields
        await ledger.insert_rows(
            session,
            [
                ledger.new_row(
                    connection_id=self.connection_id,
                    kind=action.kind,
                    local_id=action.local_id,
                    local_uid=action.local_uid,
                    external_id=action.external_id,
                    parent_external_id=action.parent_external_id,
                    parent_local_id=action.parent_local_id,
                    fields=action.agreed,
                    local_version=version,
                    remote_updated_at=action.remote_updated_at,
                    synced_at=self.clock(),
                )
            ],
        )
        tally.log(
            kind=action.kind,
            action="adopt",
            side="ledger",
            local_id=action.local_id,
            external_id=action.external_id,
            fields=sorted({*action.push, *action.pull}),
        )
        if action.push:
            tally.count("remote", "update")
        if action.pull:
            tally.count("local", "update")

    async def _delete(self, session: AsyncSession, action: act.DeleteLocal, tally: Tally) -> None:
        deleted = await bulk.soft_delete_if_version(
            session,
            kind=action.kind,
            entity_id=action.local_id,
            expected_version=action.expected_version,
            journal=self.journal(tally),
        )
        if not deleted:
            # edited here during the run: keep it; the next run sees an edit against a delete
            tally.counts["skipped"] += 1
            tally.log(
                kind=action.kind,
                action="delete",
                side="local",
                local_id=action.local_id,
                external_id=action.external_id,
                outcome="skipped",
                reason="changed locally during the run",
            )
            return
        await ledger.delete_rows(session, action.ledger_ids)
        tally.count("local", "delete", max(1, len(action.ledger_ids)))
        tally.log(
            kind=action.kind,
            action="delete",
            side="local",
            local_id=action.local_id,
            external_id=action.external_id,
        )


async def flush(session: AsyncSession, tally: Tally) -> None:
    """Writes what `tally` staged for this transaction: its log entries and history events."""
    await runs.add_log_entries(session, tally.take_log())
    await record.append(session, tally.take_events())
