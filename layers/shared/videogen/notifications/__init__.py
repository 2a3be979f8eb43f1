"""Webhooks: which URLs may be called, how messages are signed, how they are delivered."""
