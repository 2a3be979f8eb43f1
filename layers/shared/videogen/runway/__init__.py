"""Runway through its SDK: the client (created once), the error mapping, task reads, the one cancel,
uploads."""
