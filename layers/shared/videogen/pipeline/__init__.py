"""The state machine's steps: submit, check (poll), archive and cancel, with their policies.

Each takes plain values (no Lambda event shapes) and its collaborators (job store, Runway clients, S3, a
clock), and either returns a JSON-serialisable result or raises a named error from ``videogen.core.errors``.
"""
