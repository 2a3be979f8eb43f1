"""Domain code shared by every Lambda of the Runway video pipeline.

Nothing in this package knows about AWS event shapes: handlers under ``functions/`` translate events into
calls on these modules. Everything here is importable in tests without AWS credentials.
"""
