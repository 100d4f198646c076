"""The `todosync` command line (`app`), and how it shows runs on a terminal (`console`),
runs the sync from a process's edge (`runner`) and lists the quarantine (`quarantine`)."""

from todosync.cli.app import app, fail, handle_errors, main

__all__ = ["app", "fail", "handle_errors", "main"]
