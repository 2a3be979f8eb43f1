"""The one media table: every file type the pipeline reads or writes, by extension, MIME type and magic bytes.

Used by the catalog (what an input URI holds), the entry points (uploads, ``data:`` URIs, files dropped in
``inputs/``), the Runway uploads (Content-Type of an ``s3://`` input) and the archive step (the extension of
an output from its Content-Type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Kind = Literal["image", "video", "audio", "archive"]

#: Fields of a generation request that hold a media URI (``options`` may hold more, by wire name).
REQUEST_MEDIA_FIELDS = ("image", "last_image", "video", "character", "reference")
#: Content-Types that say nothing about the file (then the name decides).
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass(frozen=True)
class MediaType:
    extension: str  # canonical, without the dot
    mime: str
    kind: Kind
    other_extensions: tuple[str, ...] = ()
    other_mimes: tuple[str, ...] = ()
    magic: tuple[tuple[int, bytes], ...] = ()  # (offset, bytes) that must all match
    job_input: bool = True  # a file of this type dropped under inputs/ starts a job
    other_magic: tuple[tuple[tuple[int, bytes], ...], ...] = ()  # further signatures, any one will do

    def matches(self, head: bytes) -> bool:
        return self.match_length(head) > 0

    def match_length(self, head: bytes) -> int:
        """How many signature bytes of ``head`` prove this type (0: none): the longest signature wins."""
        return max(
            (
                sum(len(b) for _, b in signature)
                for signature in (self.magic, *self.other_magic)
                if signature and all(head[o : o + len(b)] == b for o, b in signature)
            ),
            default=0,
        )


MEDIA_TYPES: tuple[MediaType, ...] = (
    MediaType("png", "image/png", "image", magic=((0, b"\x89PNG\r\n\x1a\n"),)),
    MediaType("jpg", "image/jpeg", "image", other_extensions=("jpeg",), magic=((0, b"\xff\xd8\xff"),)),
    MediaType("webp", "image/webp", "image", magic=((0, b"RIFF"), (8, b"WEBP"))),
    MediaType("mp4", "video/mp4", "video", other_extensions=("m4v",), magic=((4, b"ftyp"),)),
    MediaType(
        "mov",
        "video/quicktime",
        "video",
        magic=((4, b"ftypqt"),),
        other_magic=(((4, b"moov"),), ((4, b"wide"),), ((4, b"mdat"),)),
    ),
    MediaType("webm", "video/webm", "video", magic=((0, b"\x1a\x45\xdf\xa3"),)),
    MediaType(
        "mp3",
        "audio/mpeg",
        "audio",
        other_mimes=("audio/mp3",),
        magic=((0, b"ID3"),),
        other_magic=(((0, b"\xff\xfb"),), ((0, b"\xff\xf3"),), ((0, b"\xff\xf2"),)),
        job_input=False,
    ),
    MediaType(
        "wav",
        "audio/wav",
        "audio",
        other_mimes=("audio/x-wav", "audio/wave"),
        magic=((0, b"RIFF"), (8, b"WAVE")),
        job_input=False,
    ),
    MediaType(
        "m4a",
        "audio/mp4",
        "audio",
        other_mimes=("audio/x-m4a",),
        magic=((4, b"ftypM4A"),),
        job_input=False,
    ),
    MediaType(
        "zip",
        "application/zip",
        "archive",
        other_mimes=("application/x-zip-compressed",),
        magic=((0, b"PK\x03\x04"),),
        job_input=False,
    ),
    MediaType("exr", "image/x-exr", "image", magic=((0, b"\x76\x2f\x31\x01"),), job_input=False),
)

_BY_EXTENSION = {ext: t for t in MEDIA_TYPES for ext in (t.extension, *t.other_extensions)}
_BY_MIME = {mime: t for t in MEDIA_TYPES for mime in (t.mime, *t.other_mimes)}


def scheme_of(uri: str) -> str:
    """``https`` for ``https://...``, ``data`` for ``data:...``; empty when there is none."""
    head, sep, _ = uri.partition(":")
    return head.lower() if sep else ""


def extension_of(name: str) -> str:
    """``png`` for ``frame.PNG`` or ``https://h/a/frame.png?x=1``; empty when the name has none."""
    path = urlsplit(name).path if "://" in name else name
    base = path.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def by_extension(name: str) -> MediaType | None:
    """The media type of a file name, path or URL, from its extension."""
    return _BY_EXTENSION.get(extension_of(name))


def by_mime(mime: str | None) -> MediaType | None:
    return _BY_MIME.get((mime or "").split(";", 1)[0].strip().lower())


def sniff(head: bytes) -> MediaType | None:
    """The media type the first bytes of a file prove, or None (``mov`` before ``mp4``: both are ``ftyp``)."""
    matched = [t for t in MEDIA_TYPES if t.matches(head)]
    return max(matched, key=lambda t: t.match_length(head), default=None)


#: How many leading bytes :func:`sniff` needs (the longest signature ends before this).
SNIFF_BYTES = 64


def input_types(kind: str) -> tuple[MediaType, ...]:
    """The file types accepted as a Runway input of ``kind`` (image, video or audio)."""
    return tuple(t for t in MEDIA_TYPES if t.kind == kind and (t.job_input or kind == "audio"))


def content_problem(head: bytes, kind: str, *, declared: str | None = None) -> str | None:
    """Why a file starting with ``head`` cannot be a Runway ``kind`` input, as a predicate ("is empty");
    None when it can. The first bytes decide, never the name; ``declared`` (a data: URI's MIME type) must
    name the type they prove."""
    accepted = input_types(kind)
    names = ", ".join(t.extension.upper() for t in accepted)
    if not head:
        return "is empty"
    found = sniff(head)
    if found is None or found.kind not in ("image", "video", "audio"):
        return f"is not {_article(kind)} {kind} file (its first bytes match no {names} file)"
    holds = f"{_article(found.extension)} {found.extension.upper()} file"
    if found not in accepted:
        return f"is {holds}, not {_article(kind)} {kind} ({names})"
    if declared is not None and by_mime(declared) is not found:
        return f"declares {declared} but holds {holds} ({found.mime})"
    return None


def _article(word: str) -> str:
    """The article of a kind ("an image") or of a spelled-out extension ("an MP4", "a PNG")."""
    return "an" if word[:1] in "aeiouAEIOUmM" else "a"


def content_type_for(name: str, declared: str | None = None) -> str:
    """``declared`` unless it is generic, else the type of ``name``'s extension (octet-stream if unknown)."""
    value = (declared or "").split(";", 1)[0].strip().lower()
    if value not in GENERIC_TYPES:
        return value
    known = by_extension(name)
    return known.mime if known else "application/octet-stream"


def extension_for(content_type: str | None, fallback_name: str = "") -> str:
    """The file extension for an output's Content-Type (or its URL's extension; ``bin`` when unknown)."""
    known = by_mime(content_type) or by_extension(fallback_name)
    return known.extension if known else "bin"


def job_input_extensions(kind: Kind) -> tuple[str, ...]:
    """Every extension of ``kind`` that starts a job when dropped under ``inputs/``."""
    return tuple(
        ext
        for t in MEDIA_TYPES
        if t.kind == kind and t.job_input
        for ext in (t.extension, *t.other_extensions)
    )
