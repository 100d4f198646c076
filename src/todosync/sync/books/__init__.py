"""The sync's books: its tables (`models`: ledger, runs, logs, conflicts, quarantine, leases,
schedules), their queries (`queries`, `runs`, `ledger`, `quarantine`), the lease, a run's
report and its status (`run_status`)."""
