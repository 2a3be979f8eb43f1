"""The intake's "job accepted" line: the request's shape always, its content only with LogRequestContent."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support.entry_points import api_event, entry_stack

PROMPT = "a lighthouse in fog, seen from a boat"
SIGNED = "https://example.com/frame.png?X-Amz-Signature=0123456789abcdef"
REQUEST = {"prompt": PROMPT, "model": "gen4_turbo", "image": SIGNED, "duration": 5}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _accepted_line(monkeypatch: pytest.MonkeyPatch, context: Any, **env: str) -> dict[str, Any]:
    with entry_stack(monkeypatch) as stack:
        handler = stack.load("ApiFunction", overrides={"POWERTOOLS_LOG_LEVEL": "INFO", **env})
        records = _Records()
        intake_logger = logging.getLogger("videogen.intake.job_intake")
        intake_logger.addHandler(records)
        # Powertools keeps the level of a logger set up earlier in this process: the line is INFO
        saved = intake_logger.level
        intake_logger.setLevel(logging.INFO)
        try:
            response = handler(api_event("POST", "/generations", body=REQUEST), context)
        finally:
            intake_logger.removeHandler(records)
            intake_logger.setLevel(saved)
    assert response["statusCode"] == 202
    (line,) = [r for r in records.records if r.getMessage() == "job accepted"]
    return dict(line.request)  # type: ignore[attr-defined]


def test_by_default_the_line_shows_no_prompt_and_no_signature(monkeypatch, lambda_context):
    shown = _accepted_line(monkeypatch, lambda_context)
    assert PROMPT not in str(shown) and "X-Amz-Signature" not in str(shown)
    assert shown["prompt"] == f"<{len(PROMPT)} characters>"
    assert shown["image"] == "https://example.com/..."
    assert shown["model"] == "gen4_turbo"


def test_log_request_content_true_shows_them(monkeypatch, lambda_context):
    shown = _accepted_line(monkeypatch, lambda_context, LOG_REQUEST_CONTENT="true")
    assert shown["prompt"] == PROMPT and shown["image"] == SIGNED
