"""The generated files themselves: structure, size arithmetic, laziness."""

from __future__ import annotations

import struct

import pytest

from local.simulator.media import H264Stream, VideoFile, VideoSpec, _escape, frames_for_size, png_frame


def _boxes(data: bytes) -> list[tuple[bytes, int]]:
    out, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        out.append((kind, size))
        offset += size
    return out


def test_top_level_boxes_and_size_are_exact() -> None:
    video = VideoFile(VideoSpec(frames=10))
    data = b"".join(video.iter_bytes())
    assert len(data) == video.size
    assert [k for k, _ in _boxes(data)] == [b"ftyp", b"moov", b"mdat"]
    assert b"avcC" in data and b"stco" in data


def test_every_frame_has_the_declared_size_and_contents_differ_per_seed() -> None:
    stream = H264Stream(VideoSpec(seed=1))
    frames = [stream.frame(i) for i in range(3)]
    assert {len(f) for f in frames} == {stream.sample_size}
    assert frames[0] != frames[1]
    assert H264Stream(VideoSpec(seed=2)).frame(0) != frames[0]


def test_a_file_over_4_gib_uses_64_bit_boxes_and_is_lazy() -> None:
    # GIVEN a 5 GB file: its size is known without generating it
    spec = VideoSpec(frames=frames_for_size(VideoSpec(), 5 * 1024**3))
    video = VideoFile(spec)
    assert video.size >= 5 * 1024**3
    # WHEN the first chunk is read THEN the moov uses co64 and mdat a 64-bit size
    first = next(video.iter_bytes())
    assert len(first) < 1024 * 1024
    assert b"co64" in first and b"stco" not in first
    mdat_at = first.index(b"mdat") - 4
    assert struct.unpack(">I", first[mdat_at : mdat_at + 4])[0] == 1
    assert mdat_at + struct.unpack(">Q", first[mdat_at + 8 : mdat_at + 16])[0] == video.size


def test_emulation_prevention() -> None:
    assert _escape(b"\x00\x00\x01\x00\x00\x00") == b"\x00\x00\x03\x01\x00\x00\x03\x00"


def test_png_frame_is_a_png() -> None:
    assert png_frame(VideoSpec(width=16, height=16), 0).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("kwargs", [{"width": 15}, {"height": 8}, {"fps": 7}, {"frames": 0}])
def test_bad_specs_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        VideoSpec(**kwargs)
