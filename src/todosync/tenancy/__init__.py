"""Tenants: the teams or customers one todosync serves, each with its own data and tokens.

Every list, item and token belongs to a tenant, and every ledger row, run and conflict to a
connection of one (DESIGN.md). This package owns the tenants themselves: creating, listing,
disabling and enabling them. A disabled tenant keeps its data; its tokens answer 401 (within
the token cache's seconds in a running `serve`), the scheduler queues no run for its
connections, and its queued runs fail with the reason. `overview` is what an admin token
reads: every tenant's connection and how its sync stands, never a tenant's lists or items.
"""
