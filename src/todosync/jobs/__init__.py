"""Running sync runs in the background: the in-process dispatcher of queued runs."""
