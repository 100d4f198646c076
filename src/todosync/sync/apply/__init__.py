"""The appliers: `executor.Executor` carries a plan's actions out, locally (`local_apply`, in
small bulk transactions with their ledger rows) and remotely (`remote_apply`, one call per
action with bounded concurrency, the lists to POST read a group at a time by `read_ahead`),
each failure logged without stopping the rest. The calls' bookkeeping is committed in groups
by one writer per phase (`outcomes`) while later calls are in flight."""
