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


HEADS = {
    "png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    "jpg": b"\xff\xd8\xff\xe0\0\x10JFIF\0",
    "webp": b"RIFF\x24\0\0\0WEBPVP8 ",
    "mp4": b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom",
    "mov": b"\0\0\0\x14ftypqt  \0\0\0\0qt  ",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",
    "mp3": b"ID3\x04\0\0\0\0\0\0",
    "wav": b"RIFF\x24\0\0\0WAVEfmt ",
    "m4a": b"\0\0\0\x20ftypM4A \0\0\0\0",
}
KIND = {"png": "image", "jpg": "image", "webp": "image", "mp4": "video", "mov": "video", "webm": "video"}


@pytest.mark.parametrize("extension", sorted(HEADS))
@pytest.mark.parametrize("kind", ["image", "video", "audio"])
def test_the_first_bytes_decide_the_role_a_file_can_take(extension: str, kind: str) -> None:
    # GIVEN the first bytes of a real file of each type
    head = HEADS[extension] + b"\0" * 40
    # WHEN it is checked as an input of each kind
    problem = media.content_problem(head, kind)
    # THEN it is accepted exactly for its own kind, and the refusal names what it is
    if KIND.get(extension, "audio") == kind:
        assert problem is None
    else:
        assert problem == (
            f"is {'an' if extension[0] in 'aeioum' else 'a'} {extension.upper()} file, not "
            f"{'a' if kind == 'video' else 'an'} {kind} "
            f"({', '.join(t.extension.upper() for t in media.input_types(kind))})"
        )


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"", "is empty"),
        (b'{"prompt": "x"}', "is not an image file (its first bytes match no PNG, JPG, WEBP file)"),
        (b"PK\x03\x04" + b"\0" * 30, "is not an image file (its first bytes match no PNG, JPG, WEBP file)"),
    ],
)
def test_what_is_no_media_file_is_refused(head: bytes, expected: str) -> None:
    assert media.content_problem(head, "image") == expected


def test_a_declared_type_must_be_the_type_the_bytes_prove() -> None:
    jpeg = HEADS["jpg"] + b"\0" * 40
    assert media.content_problem(jpeg, "image", declared="image/jpeg") is None
    assert media.content_problem(jpeg, "image", declared="image/png") == (
        "declares image/png but holds a JPG file (image/jpeg)"
    )
