"""API tokens: `tokens` makes and hashes them, `service` creates, revokes and checks them.

Only a token's SHA-256 is stored; the token itself is shown once, when it is created.
"""
