"""The store: tenants, tokens, connections, and the todo lists and items they own.

`service` is the one writer of lists and items; the API and the sync engine both use it.
"""
