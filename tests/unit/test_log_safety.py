"""videogen.core.log_safety: wire loggers held at INFO, secrets redacted from every record, the request shown
in logs only as far as LOG_REQUEST_CONTENT allows."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from videogen.core import log_safety
from videogen.core.log_safety import REDACTED, request_for_log

SECRET = "key_0123456789abcdef0123456789abcdef"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.getMessage()} {vars(r)}" for r in self.records)


@pytest.fixture
def root_at_debug() -> Iterator[_Lines]:
    """The root logger at DEBUG (as Lambda's ApplicationLogLevel=DEBUG sets it) with a handler of its own;
    the record factory and the wire loggers' levels are put back afterwards."""
    root = logging.getLogger()
    factory, level = logging.getLogRecordFactory(), root.level
    names = [*log_safety.WIRE_LOGGERS, "botocore.parsers", "botocore.endpoint"]
    levels = {name: logging.getLogger(name).level for name in names}
    lines = _Lines()
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(lines)
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)
    log_safety._secrets.discard(SECRET)


def test_wire_loggers_stay_at_info_when_the_root_is_at_debug(root_at_debug: _Lines) -> None:
    # GIVEN botocore's parser logger with no level and its endpoint logger set to DEBUG by hand
    logging.getLogger("botocore.parsers").setLevel(logging.NOTSET)
    logging.getLogger("botocore.endpoint").setLevel(logging.DEBUG)
    # WHEN the handlers' setup runs
    log_safety.install()
    # THEN neither makes a DEBUG record (a GetSecretValue answer is logged at DEBUG), INFO still passes
    for name in ("botocore.parsers", "botocore.endpoint", "urllib3.connectionpool", "httpx", "runwayml"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    logging.getLogger("botocore.parsers").debug('Response body: {"SecretString": "%s"}', SECRET)
    logging.getLogger("botocore.credentials").info("Found credentials in environment variables.")
    assert [r.getMessage() for r in root_at_debug.records] == ["Found credentials in environment variables."]
    assert SECRET not in root_at_debug.text()


def test_a_secrets_manager_answer_is_withheld_even_from_a_wire_logger_lowered_afterwards(
    root_at_debug: _Lines,
) -> None:
    log_safety.install()
    # GIVEN someone lowers botocore's parser logger to DEBUG after the setup
    logging.getLogger("botocore.parsers").setLevel(logging.DEBUG)
    # WHEN it logs a GetSecretValue answer whose value was never registered
    logging.getLogger("botocore.parsers").debug(b'Response body:\n{"SecretString": "%s"}'.decode(), SECRET)
    # THEN the record says it was withheld
    assert SECRET not in root_at_debug.text()
    assert "withheld" in root_at_debug.text()


def test_a_registered_secret_is_redacted_from_any_logger_message_args_and_extra_keys(
    root_at_debug: _Lines,
) -> None:
    log_safety.install()
    log_safety.register_secret(SECRET)
    domain = logging.getLogger("example.domain")
    domain.warning(
        "calling with %s", f"Bearer {SECRET}", extra={"headers": {"Authorization": f"Bearer {SECRET}"}}
    )
    domain.error(f"key {SECRET} refused")
    text = root_at_debug.text()
    assert SECRET not in text
    assert text.count(REDACTED) >= 3


def test_short_values_are_not_treated_as_secrets(root_at_debug: _Lines) -> None:
    log_safety.install()
    log_safety.register_secret("abc")
    logging.getLogger("example.domain").info("abc def")
    assert root_at_debug.records[-1].getMessage() == "abc def"


REQUEST = {
    "model": "gen4_turbo",
    "prompt": "a secret plan for a boat",
    "image": "https://bucket.s3.amazonaws.com/frame.png?X-Amz-Signature=abcdef",
    "last_image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg",
    "webhook_url": "https://hooks.example.com/v?token=t0k3n",
    "options": {"promptText": "more text"},
    "duration": 5,
}


def test_the_request_in_a_log_line_shows_no_content_by_default() -> None:
    shown = request_for_log(REQUEST, include_content=False)
    text = str(shown)
    for hidden in ("secret plan", "X-Amz-Signature", "iVBORw0KGgo", "t0k3n", "more text"):
        assert hidden not in text
    assert shown["prompt"] == "<24 characters>"
    assert shown["image"] == "https://bucket.s3.amazonaws.com/..."
    assert shown["last_image"].startswith("data:image/png;base64,<")
    assert shown["model"] == "gen4_turbo" and shown["duration"] == 5


def test_log_request_content_shows_the_prompt_and_urls_but_never_a_files_bytes() -> None:
    shown = request_for_log(REQUEST, include_content=True)
    assert shown["prompt"] == REQUEST["prompt"]
    assert shown["image"] == REQUEST["image"]
    assert "iVBORw0KGgo" not in str(shown)
