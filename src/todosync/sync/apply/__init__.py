"""The appliers: `executor.Executor` carries a plan's actions out, locally (`local_apply`, in
small bulk transactions with their ledger rows) and remotely (`remote_apply`, one call per
action with bounded concurrency), each failure logged without stopping the rest."""
