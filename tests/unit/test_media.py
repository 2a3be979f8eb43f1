"""The one media table: extensions, MIME types and magic bytes agree wherever a file type is decided."""

from __future__ import annotations

import pytest

from videogen.core import media


@pytest.mark.parametrize(
    ("name", "extension", "kind"),
    [
        ("frame.PNG", "png", "image"),
        ("https://cdn.example/a/b.jpeg?sig=1", "jpg", "image"),
        ("s3://bucket/dir/clip.m4v", "mp4", "video"),
        ("clip.mov", "mov", "video"),
        ("voice.wav", "wav", "audio"),
        ("frames.zip", "zip", "archive"),
    ],
)
def test_a_name_finds_its_type(name: str, extension: str, kind: str) -> None:
    found = media.by_extension(name)
    assert found is not None and (found.extension, found.kind) == (extension, kind)


def test_unknown_names_and_types_find_nothing() -> None:
    assert media.by_extension("notes.txt") is None
    assert media.by_extension("https://cdn.example/no-extension") is None
    assert media.by_mime("text/plain") is None


def test_content_type_prefers_a_specific_declaration_and_falls_back_to_the_name() -> None:
    assert media.content_type_for("a.png", "image/png; charset=binary") == "image/png"
    assert media.content_type_for("a.png", "binary/octet-stream") == "image/png"
    assert media.content_type_for("noext", "") == "application/octet-stream"


def test_output_extension_comes_from_the_content_type_then_the_url() -> None:
    assert media.extension_for("video/quicktime") == "mov"
    assert media.extension_for("audio/x-wav") == "wav"
    assert media.extension_for("application/octet-stream", "https://h/out/0.mp4?x=1") == "mp4"
    assert media.extension_for(None, "https://h/out/0") == "bin"


@pytest.mark.parametrize(
    ("head", "extension"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 8, "jpg"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
        (b"\0\0\0\x18ftypisom", "mp4"),
        (b"\0\0\0\x14ftypqt  ", "mov"),
        (b"\x1a\x45\xdf\xa3" + b"\0" * 8, "webm"),
        (b"RIFF\0\0\0\0WAVEfmt ", "wav"),
        (b"PK\x03\x04" + b"\0" * 8, "zip"),
    ],
)
def test_magic_bytes_name_the_type(head: bytes, extension: str) -> None:
    found = media.sniff(head)
    assert found is not None and found.extension == extension


def test_magic_bytes_of_other_content_name_nothing() -> None:
    assert media.sniff(b'{"prompt": "not an image"}') is None


def test_job_inputs_are_the_images_and_videos_runway_accepts() -> None:
    assert set(media.job_input_extensions("image")) == {"png", "jpg", "jpeg", "webp"}
    assert set(media.job_input_extensions("video")) == {"mp4", "m4v", "mov", "webm"}
