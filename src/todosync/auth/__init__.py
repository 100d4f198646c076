"""API tokens: `tokens` makes and hashes them, `service` creates, revokes and checks them, and
a check says whom a token speaks for (`principal`: one tenant, or an admin token of none).

Only a token's SHA-256 is stored; the token itself is shown once, when it is created.
"""
