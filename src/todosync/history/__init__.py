"""The history: an append-only log of every change to a list or item, and reads over it on
two time axes.

Every write of the store (`store.service` for the API, `store.bulk` for sync runs, the
conflict resolutions through `store.service`) notes one event per changed entity in a
`record.Journal`; the owner of the transaction appends the journal in one INSERT before it
commits, so an event exists exactly when its change does. An event holds the tenant, the
entity (kind, id, and an item's list), the operation (`created`, `updated`, `deleted`,
`restored`; `baseline` for retention's folds), the changed fields before and after, the
actor (`api` + token id, `sync` + run id, `conflict` + conflict id), and two times:

- valid time (`valid_at`): when the change happened in the world; the write time for a
  local change, the remote `updated_at` corrected for the run's clock skew for a pulled one;
- recorded time (`recorded_at`): when this service stored it (`todosync.clock`).

`fold` rebuilds any entity's state at valid time `as_of` as known at recorded time
`known_at`; `service` answers the API's reads with it; `retention` folds events older than
the window into one baseline per entity. The current tables stay what the API reads; the
events alone rebuild them (a test checks it). Layer: below `store`, above `db`.
"""
