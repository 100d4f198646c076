"""The sync engine: two-way sync of lists and items with the external API.

One run, for one connection (`engine.SyncEngine.run`):

1. **Lease**: at most one run per connection, held in the database with a heartbeat.
2. **Pull**: one `GET /todolists` (all pages). Invalid entities are quarantined, never
   imported and never deleted. Clock skew comes from the response's `Date` header.
3. **Plan** (`plan.build`, pure): compares the pull, the local rows whose `version` moved since
   their last sync, and the ledger's last-agreed snapshots. Content decides whether a side
   changed; skew-corrected `updated_at` decides only which of two conflicting writes is later
   (`merge.three_way`, remote wins a tie). Deletions are detected only after a complete pull,
   and a plan that would delete too much is held. A list whose pulled digest equals the one
   recorded when both sides last agreed on all of it, with nothing moved locally, is passed
   over without reading its items (`settle`).
4. **Apply** (`executor.Executor`): lists, then items; local writes in small bulk
   transactions, each with its ledger rows and log entries; remote calls with bounded
   concurrency, each followed by its own short transaction. A failing action is logged and
   the rest goes on.
5. **Record**: status, counts, API calls, skew and errors on the run row.

Guarantees:
- *No duplicates after a crash*: every remote create carries the local `uid` as
  `source_id`, and a remote entity carrying a known uid is adopted, never created again.
  A list re-create writes its intent to the ledger before its first call.
- *No lost updates*: local writes are conditional on the row's `version`; a row edited
  during a run is left for the next one.
- *Nothing unchanged costs a call*: a sync with no changes makes exactly one request.
- *Progress over perfection*: invalid remote entities and entities whose action keeps failing
  go to the quarantine (`quarantine`), with a growing back-off and a dead letter after
  `MAX_ENTITY_ATTEMPTS`; the rest of the run goes on.
- *No ghost runs*: a run is `running` only while a live lease names it; others are closed as
  `failed` ("abandoned") by `runs.reap_abandoned`, which every run calls first.
"""
