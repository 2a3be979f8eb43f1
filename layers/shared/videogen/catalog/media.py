"""Which media URIs Runway fetches: https:// URLs, runway:// upload URIs and small data: URIs."""

from __future__ import annotations

from urllib.parse import urlsplit

from videogen.core.media import by_extension, scheme_of

MAX_URL_LENGTH = 2048  # Runway docs, "API Input Parameters"
MAX_DATA_URI_BYTES = 5 * 1024 * 1024  # "up to 5MB", written next to the data-URI form in every SDK docstring
MEDIA_KINDS = ("image", "video", "audio")


def data_uri_mime(uri: str) -> str | None:
    """``image/png`` for ``data:image/png;base64,...``; None if the URI names no MIME type."""
    header = uri[5:].split(",", 1)[0]
    mime = header.split(";", 1)[0].strip().lower()
    return mime or None


def guess_kind(uri: str) -> str | None:
    """image/video/audio from a data: MIME type or a file extension in the URI's path; None if unknown."""
    if scheme_of(uri) == "data":
        mime = data_uri_mime(uri)
        major = mime.split("/", 1)[0] if mime else None
        return major if major in MEDIA_KINDS else None
    known = by_extension(uri)
    return known.kind if known and known.kind in MEDIA_KINDS else None


def uri_problems(uri: str, kind: str, where: str) -> list[str]:
    """Every reason Runway would refuse ``uri`` as the ``kind`` input named ``where``."""
    scheme = scheme_of(uri)
    if scheme == "https":
        problems = []
        if len(uri) > MAX_URL_LENGTH:
            problems.append(
                f"{where} is a URL of {len(uri)} characters; Runway accepts at most {MAX_URL_LENGTH} "
                "(use a shorter URL or upload the file)"
            )
        if not urlsplit(uri).hostname:
            problems.append(f"{where} is not a valid https:// URL: it names no host")
        return problems
    if scheme == "runway":
        return [] if len(uri) > len("runway://") else [f"{where} is an empty runway:// upload URI"]
    if scheme == "data":
        return _data_uri_problems(uri, kind, where)
    if scheme == "http":
        return [f"{where} is an http:// URL; Runway only fetches https:// URLs (or runway:// or data: URIs)"]
    if scheme == "s3":
        return [
            f"{where} is an s3:// URI, which Runway cannot read; submit it through the pipeline "
            "(which uploads it to Runway) or use an https:// URL"
        ]
    shown = uri if len(uri) <= 60 else uri[:57] + "..."
    return [f"{where} ({shown!r}) must be an https:// URL, a runway:// upload URI or a data: URI"]


def _data_uri_problems(uri: str, kind: str, where: str) -> list[str]:
    problems = []
    size = len(uri.encode("utf-8"))
    if size > MAX_DATA_URI_BYTES:
        problems.append(
            f"{where} is a data: URI of {size / 1024 / 1024:.1f} MB; Runway accepts data: URIs up to 5 MB "
            "(use an https:// URL or an upload for larger files)"
        )
    if "," not in uri:
        problems.append(f"{where} is not a valid data: URI (expected data:<type>;base64,<data>)")
        return problems
    mime = data_uri_mime(uri)
    if mime is None:
        problems.append(f"{where} is a data: URI without a media type; use data:{kind}/...;base64,...")
    elif mime.split("/", 1)[0] != kind:
        problems.append(f"{where} is a data:{mime} URI but this field takes {_article(kind)} {kind}")
    return problems


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
