"""Output files made by code: a playable H.264 MP4 (or a QuickTime .mov), and a .zip of PNG frames.

The video is H.264 Constrained Baseline where every macroblock is ``I_PCM`` (raw samples, no transform or
entropy coding), every frame is an IDR picture, and every frame has exactly the same size. That makes the
whole ``moov`` box computable before any frame exists, so a file of up to 4 GiB (32-bit boxes) is streamed
frame by frame with a known ``Content-Length`` and never held in memory.

``prores`` outputs are the same H.264 stream in a QuickTime container (not real ProRes); ``png_sequence``
outputs are a stored (uncompressed) zip of real PNG frames.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

CONTENT_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "zip": "application/zip"}

# Runway outputFormats served in a QuickTime container; image sequences are zips, the rest MP4.
_MOV_FORMATS = {"mov", "prores", "hdr_prores", "hdr_pq_12bit_master"}

_TIMESCALE = 12_288  # divisible by every small fps used here
_CHUNK = 256 * 1024
_MAX_32 = 0xFFFFFFFF


def extension_for(output_format: str | None) -> str:
    """The container served for a Runway outputFormat (or mp4/mov/zip)."""
    fmt = output_format or "mp4"
    if fmt in _MOV_FORMATS:
        return "mov"
    return "zip" if fmt == "zip" or "sequence" in fmt else "mp4"


@dataclass(frozen=True)
class VideoSpec:
    """What to generate. ``width``/``height`` must be even; ``seed`` varies the picture between tasks."""

    width: int = 128
    height: int = 72
    fps: int = 12
    frames: int = 24
    seed: int = 0

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even and at least 16")
        if self.frames < 1 or self.fps < 1 or _TIMESCALE % self.fps:
            raise ValueError(f"frames must be >= 1 and fps must divide {_TIMESCALE}")


# --- H.264 bitstream ---


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def align_zero(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def trailing(self) -> None:
        self.bits.append(1)
        self.align_zero()

    def to_bytes(self) -> bytes:
        if len(self.bits) % 8:
            raise ValueError("not byte aligned")
        return int("".join(map(str, self.bits)) or "0", 2).to_bytes(len(self.bits) // 8, "big")


def _escape(rbsp: bytes) -> bytes:
    """Insert emulation-prevention bytes (00 00 0x -> 00 00 03 0x for x <= 3)."""
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


# PPS 0 of SPS 0: CAVLC, one slice group, one reference each way, no weighting, QP 26 and no offsets, no
# deblocking control, constrained intra prediction or redundant pictures; then the stop bit.
_PPS_RBSP = bytes.fromhex("ce3880")


def _nal(nal_type: int, rbsp: bytes) -> bytes:
    return bytes([0x60 | nal_type]) + _escape(rbsp)


class H264Stream:
    """SPS, PPS and a fixed-size IDR access unit per frame, for ``spec``."""

    PROFILE_IDC = 66
    CONSTRAINTS = 0xC0  # constraint_set0 + constraint_set1: Constrained Baseline
    LEVEL_IDC = 30

    def __init__(self, spec: VideoSpec) -> None:
        self.spec = spec
        self.mbs_w = (spec.width + 15) // 16
        self.mbs_h = (spec.height + 15) // 16
        self.sps = _nal(7, self._sps_rbsp())
        self.pps = _nal(8, _PPS_RBSP)
        self._headers = [self._slice_header(idr_pic_id) for idr_pic_id in (0, 1)]
        if len(self._headers[0]) != len(self._headers[1]):
            raise AssertionError("slice headers must have the same size")
        self.frame_nal_size = 1 + len(self._headers[0]) + (self.mbs_w * self.mbs_h) * 386 - 2 + 1
        # per macroblock: 2-byte prefix (mb_type + alignment) except the first, whose prefix is in the header
        self.sample_size = 4 + self.frame_nal_size

    def _sps_rbsp(self) -> bytes:
        s = self.spec
        w = _BitWriter()
        w.u(8, self.PROFILE_IDC)
        w.u(8, self.CONSTRAINTS)
        w.u(8, self.LEVEL_IDC)
        w.ue(0)  # seq_parameter_set_id
        w.ue(0)  # log2_max_frame_num_minus4
        w.ue(2)  # pic_order_cnt_type 2: output order = decoding order
        w.ue(1)  # max_num_ref_frames
        w.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
        w.ue(self.mbs_w - 1)
        w.ue(self.mbs_h - 1)
        w.u(1, 1)  # frame_mbs_only_flag
        w.u(1, 1)  # direct_8x8_inference_flag
        crop_right = (self.mbs_w * 16 - s.width) // 2
        crop_bottom = (self.mbs_h * 16 - s.height) // 2
        if crop_right or crop_bottom:
            w.u(1, 1)
            for value in (0, crop_right, 0, crop_bottom):
                w.ue(value)
        else:
            w.u(1, 0)
        w.u(1, 0)  # vui_parameters_present_flag
        w.trailing()
        return w.to_bytes()

    @staticmethod
    def _slice_header(idr_pic_id: int) -> bytes:
        """Slice header of an IDR I slice, then the first macroblock's mb_type (I_PCM) and alignment."""
        w = _BitWriter()
        w.ue(0)  # first_mb_in_slice
        w.ue(7)  # slice_type: I (all slices of the picture)
        w.ue(0)  # pic_parameter_set_id
        w.u(4, 0)  # frame_num
        w.ue(idr_pic_id)  # consecutive IDR pictures must differ
        w.u(1, 0)  # no_output_of_prior_pics_flag
        w.u(1, 0)  # long_term_reference_flag
        w.ue(0)  # slice_qp_delta: se(0) has the code of ue(0)
        w.ue(25)  # mb_type I_PCM
        w.align_zero()
        return w.to_bytes()

    def frame(self, index: int) -> bytes:
        """One length-prefixed IDR NAL unit: a moving diagonal colour gradient."""
        seed = self.spec.seed
        macroblocks = []
        for y in range(self.mbs_h):
            for x in range(self.mbs_w):
                # samples stay in 16..235 so the payload never contains 00 00 (no emulation prevention)
                luma = 16 + (x * 19 + y * 23 + index * 7 + seed * 31) % 220
                cb = 16 + (x * 11 + index * 3 + seed * 5) % 224
                cr = 16 + (y * 13 + index * 5 + seed * 3) % 224
                macroblocks.append(bytes([luma]) * 256 + bytes([cb]) * 64 + bytes([cr]) * 64)
        # the first mb_type is in the slice header; each later one is ue(25) = 000011010 and 7 alignment bits
        body = b"\x0d\x00".join(macroblocks)
        header = struct.pack(">I", self.frame_nal_size) + b"\x65" + self._headers[index % 2]
        data = header + body + b"\x80"  # rbsp_stop_one_bit + alignment
        if len(data) != self.sample_size:
            raise AssertionError(f"frame size {len(data)} != {self.sample_size}")
        return data


# --- ISO BMFF / QuickTime container ---


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


class VideoFile:
    """A streamable .mp4 / .mov: ``size`` is known up front, ``iter_bytes()`` yields the file in chunks."""

    def __init__(self, spec: VideoSpec, container: str = "mp4") -> None:
        if container not in ("mp4", "mov"):
            raise ValueError(container)
        self.spec = spec
        self.container = container
        self.stream = H264Stream(spec)
        self._data_size = self.stream.sample_size * spec.frames
        if self._data_size + 8 > _MAX_32:
            raise ValueError("a video over 4 GiB would need 64-bit boxes")
        self._ftyp = self._ftyp_box()
        # the chunk offset (where the frames start) depends on the moov size
        offset = len(self._ftyp) + len(self._moov(0)) + 8
        self._moov_box = self._moov(offset)
        self.size = offset + self._data_size

    def _ftyp_box(self) -> bytes:
        if self.container == "mov":
            return _box(b"ftyp", b"qt  ", struct.pack(">I", 0x200), b"qt  ")
        return _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"avc1", b"mp41")

    def _moov(self, data_offset: int) -> bytes:
        s = self.spec
        delta = _TIMESCALE // s.fps
        duration = delta * s.frames
        mvhd = _full_box(
            b"mvhd",
            0,
            0,
            struct.pack(">IIII", 0, 0, _TIMESCALE, duration),
            struct.pack(">IH", 0x10000, 0x100),
            b"\x00" * 10,
            _MATRIX,
            b"\x00" * 24,
            struct.pack(">I", 2),
        )
        tkhd = _full_box(
            b"tkhd",
            0,
            0x3,  # enabled, in movie
            struct.pack(">IIIII", 0, 0, 1, 0, duration),
            b"\x00" * 8,
            struct.pack(">hhhH", 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", s.width << 16, s.height << 16),
        )
        mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, _TIMESCALE, duration, 0x55C4, 0))
        hdlr_type = b"mhlr" if self.container == "mov" else b"\x00\x00\x00\x00"
        hdlr = _full_box(b"hdlr", 0, 0, hdlr_type, b"vide", b"\x00" * 12, b"VideoHandler\x00")
        vmhd = _full_box(b"vmhd", 0, 1, b"\x00" * 8)
        dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
        sps, pps = self.stream.sps, self.stream.pps
        avcc = _box(
            b"avcC",
            bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
            struct.pack(">H", len(sps)),
            sps,
            b"\x01",
            struct.pack(">H", len(pps)),
            pps,
        )
        compressor = b"simulator h264"
        avc1 = _box(
            b"avc1",
            b"\x00" * 6,
            struct.pack(">H", 1),
            b"\x00" * 16,
            struct.pack(">HH", s.width, s.height),
            struct.pack(">II", 0x480000, 0x480000),
            struct.pack(">I", 0),
            struct.pack(">H", 1),
            bytes([len(compressor)]) + compressor.ljust(31, b"\x00"),
            struct.pack(">Hh", 0x18, -1),
            avcc,
        )
        stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1)
        stts = _full_box(b"stts", 0, 0, struct.pack(">III", 1, s.frames, delta))
        stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, s.frames, 1))
        stsz = _full_box(b"stsz", 0, 0, struct.pack(">II", self.stream.sample_size, s.frames))
        chunk_offsets = _full_box(b"stco", 0, 0, struct.pack(">II", 1, data_offset))
        stbl = _box(b"stbl", stsd, stts, stsc, stsz, chunk_offsets)
        minf = _box(b"minf", vmhd, dinf, stbl)
        mdia = _box(b"mdia", mdhd, hdlr, minf)
        trak = _box(b"trak", tkhd, mdia)
        return _box(b"moov", mvhd, trak)

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the file in chunks of roughly 256 KB, generating frames lazily."""
        pending = [self._ftyp, self._moov_box, struct.pack(">I", 8 + self._data_size) + b"mdat"]
        pending_size = sum(map(len, pending))
        for index in range(self.spec.frames):
            frame = self.stream.frame(index)
            pending.append(frame)
            pending_size += len(frame)
            if pending_size >= _CHUNK:
                yield b"".join(pending)
                pending, pending_size = [], 0
        if pending:
            yield b"".join(pending)


def frames_for_size(spec: VideoSpec, size_bytes: int, container: str = "mp4") -> int:
    """Smallest frame count whose file is at least ``size_bytes``."""
    overhead = VideoFile(VideoSpec(spec.width, spec.height, spec.fps, 1, spec.seed), container).size
    per_frame = H264Stream(spec).sample_size
    return max(1, 1 + math.ceil(max(0, size_bytes - overhead) / per_frame))


# --- PNG sequence ---


def _png(width: int, height: int, rgb_rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + row for row in rgb_rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def png_frame(spec: VideoSpec, index: int) -> bytes:
    rows = []
    for y in range(spec.height):
        row = bytearray()
        for x in range(spec.width):
            row += bytes(((x * 2 + index * 9) % 256, (y * 3 + spec.seed * 17) % 256, (index * 21) % 256))
        rows.append(bytes(row))
    return _png(spec.width, spec.height, rows)


def png_sequence_zip(spec: VideoSpec) -> bytes:
    """A zip of ``spec.frames`` real PNG frames ``frame.0001.png`` ... (built in memory: keep it small)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for index in range(spec.frames):
            zf.writestr(f"frame.{index + 1:04d}.png", png_frame(spec, index))
    return buf.getvalue()
