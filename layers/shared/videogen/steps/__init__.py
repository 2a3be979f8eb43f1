"""The domain operations behind the four Lambdas of the generate-video state machine.

Each takes plain values (no Lambda event shapes) and its collaborators (job store, Runway clients, S3),
and either returns a JSON-serialisable result or raises a named error from ``videogen.errors``.
"""

from __future__ import annotations

from videogen.steps.archive import archive_task
from videogen.steps.cancel import cancel_task
from videogen.steps.poll import check_task
from videogen.steps.state import TaskState
from videogen.steps.submit import submit_task

__all__ = ["TaskState", "archive_task", "cancel_task", "check_task", "submit_task"]
