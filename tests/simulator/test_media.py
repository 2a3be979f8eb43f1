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


def test_a_file_over_4_gib_is_refused() -> None:
    with pytest.raises(ValueError, match="4 GiB"):
        VideoFile(VideoSpec(frames=frames_for_size(VideoSpec(), 5 * 1024**3)))


def test_emulation_prevention() -> None:
    assert _escape(b"\x00\x00\x01\x00\x00\x00") == b"\x00\x00\x03\x01\x00\x00\x03\x00"


def test_png_frame_is_a_png() -> None:
    assert png_frame(VideoSpec(width=16, height=16), 0).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("kwargs", [{"width": 15}, {"height": 8}, {"fps": 7}, {"frames": 0}])
def test_bad_specs_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        VideoSpec(**kwargs)
