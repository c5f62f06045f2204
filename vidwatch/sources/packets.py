"""The compressed stream of a video file, read without decoding: where every frame's packet is.

Splitting a file over several processes and skipping what is quiet both start here. Demuxing
reads only the container's packets (no picture is decoded: a few microseconds a packet), and
tells, for every frame in presentation order, its timestamp, how many bytes the encoder spent on
it, whether it is a keyframe (where decoding can start) and what kind of picture it is. The
encoder spends few bytes on a frame that repeats the one before and many on one where something
changed, so those sizes are a cheap activity signal (see :mod:`vidwatch.triage`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from vidwatch.sources.pyav_file import av

log = logging.getLogger(__name__)

KEY, REFERENCE, REFERENCE_REORDERED, DISPOSABLE, DISPOSABLE_REORDERED = range(5)
"""Picture classes. Encoders give each class its own share of the bits (a keyframe costs ten to
a hundred times a predicted frame; a B-frame no other frame refers to costs least), so sizes are
only compared within a class. ``REORDERED`` frames are shown before a frame decoded ahead of them
(B-frames); ``DISPOSABLE`` frames are ones no other frame refers to (where the codec says so)."""
CLASS_NAMES = ("key", "reference", "reference-reordered", "disposable", "disposable-reordered")


class Unsplittable(Exception):
    """The file cannot be cut at keyframes (no timestamps, no keyframes, damaged index); the reason says why."""


class Unreadable(Unsplittable):
    """PyAV finds no video in it at all: the reader that scans it whole says what is wrong (or reads it)."""


@dataclass(frozen=True, slots=True)
class PacketIndex:
    """Every frame of a file's first video stream, in presentation order (the order vidwatch numbers frames)."""

    path: str
    codec: str
    pts: np.ndarray
    """int64 presentation timestamps, strictly increasing."""
    times: np.ndarray
    """float64 seconds from the start of the stream (as the file reader reports them)."""
    sizes: np.ndarray
    """int64 bytes of each frame's packet."""
    classes: np.ndarray
    """uint8 picture class (``KEY`` ... ``DISPOSABLE_REORDERED``)."""
    keyframes: np.ndarray
    """Frame indices where decoding can start, ascending."""
    decode_order: np.ndarray
    """int64 position of each frame's packet in decode order."""
    filler: np.ndarray
    """bool: the packet carries filler data (padding a constant-bitrate encoder adds to hold its rate)."""
    constant_bitrate: bool
    """The stream declares itself constant-bitrate (H.264 sequence parameters: HRD ``cbr_flag``)."""
    fps: float
    time_base: Fraction
    start_pts: int
    """The stream's start time (time-base units): times count from it."""
    width: int
    height: int

    @property
    def frames(self) -> int:
        return int(self.pts.size)

    def keyframe_at_or_before(self, frame: int) -> int:
        """The last keyframe at or before ``frame`` (the first keyframe when there is none before)."""
        keys = self.keyframes
        i = int(np.searchsorted(keys, frame, side="right")) - 1
        return int(keys[max(i, 0)])

    def seconds(self, frames: float) -> float:
        return frames / self.fps


def read_packet_index(path: str) -> PacketIndex:
    """Demux ``path`` (no decoding) into a :class:`PacketIndex`.

    Raises :class:`Unsplittable` when PyAV cannot read it or it cannot be cut at keyframes: then it
    is scanned whole, by the reader that can (which reports what is wrong with it, if anything).
    """
    if av is None:  # pragma: no cover - PyAV is a dependency
        raise Unsplittable("PyAV is not installed")
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise Unreadable(f"PyAV cannot open it: {exc}") from None
    try:
        if not container.streams.video:
            raise Unreadable("no video stream")
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context is not None else ""
        parse = _reference_parser(codec, stream)
        cbr = codec == "h264" and _declares_cbr(bytes(stream.codec_context.extradata or b""))
        pts, sizes, keys, refs, fills = [], [], [], [], []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the empty packet that flushes the decoder at the end
                    continue
                if packet.pts is None:
                    raise Unsplittable("a packet has no timestamp")
                pts.append(packet.pts)
                sizes.append(packet.size)
                keys.append(bool(packet.is_keyframe))
                ref, fill = parse(packet) if parse is not None else (None, False)
                if codec == "h264" and not pts and packet.is_keyframe:  # parameter sets sent in-band (MPEG-TS)
                    cbr = cbr or _declares_cbr(bytes(packet))
                refs.append(ref)
                fills.append(fill)
        except av.error.FFmpegError as exc:
            log.warning("%s: demuxing stopped after %d packets: %s", path, len(pts), exc)
        if not pts:
            raise Unreadable("no video packets")
        time_base = stream.time_base or Fraction(1, 90000)
        start = stream.start_time if stream.start_time is not None else 0
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate and 0 < float(rate) < 1000 else 25.0
        width, height = stream.codec_context.width, stream.codec_context.height
    finally:
        container.close()
    return _build(path, codec, np.array(pts, np.int64), np.array(sizes, np.int64), np.array(keys, bool), refs,
                  np.array(fills, bool), cbr, time_base, start, fps, width, height)


def _build(path: str, codec: str, pts: np.ndarray, sizes: np.ndarray, keys: np.ndarray,
           refs: list[bool | None], fills: np.ndarray, cbr: bool, time_base: Fraction, start: int, fps: float,
           width: int, height: int) -> PacketIndex:
    """Turn packets in decode order into frames in presentation order, with their classes."""
    order = np.argsort(pts, kind="stable")
    shown = pts[order]
    if shown.size > 1 and np.any(np.diff(shown) <= 0):
        raise Unsplittable("two packets share a timestamp")
    if not keys.any():
        raise Unsplittable("no keyframes")
    # a frame is reordered (a B-frame) when a frame decoded before it is shown after it
    running_max = np.maximum.accumulate(pts)
    reordered = np.zeros(pts.size, bool)
    reordered[1:] = pts[1:] < running_max[:-1]
    disposable = np.array([r is False for r in refs], bool)
    classes = np.where(disposable, DISPOSABLE, REFERENCE).astype(np.uint8)
    classes[reordered] += 1  # REFERENCE -> REFERENCE_REORDERED, DISPOSABLE -> DISPOSABLE_REORDERED
    classes[keys] = KEY
    seconds = (shown - start).astype(np.float64) * (time_base.numerator / time_base.denominator)
    return PacketIndex(path=path, codec=codec, pts=shown, times=seconds, sizes=sizes[order],
                       classes=classes[order], keyframes=np.flatnonzero(classes[order] == KEY),
                       decode_order=order.astype(np.int64),
                       filler=fills[order], constant_bitrate=cbr, fps=fps,
                       time_base=time_base, start_pts=int(start), width=int(width or 0), height=int(height or 0))


# --- which pictures other pictures refer to, from the NAL unit headers ------------------------

def _reference_parser(codec: str, stream: object):  # noqa: ANN202 - returns packet -> (bool | None, bool)
    """A function reading a packet's NAL unit headers: (whether other frames refer to it, whether
    it carries filler data), or None for codecs other than H.264 and HEVC.

    Only the one- or two-byte NAL unit headers are read (H.264's ``nal_ref_idc``, HEVC's sub-layer
    non-reference types, the filler-data unit types); nothing is decoded.
    """
    if codec not in ("h264", "hevc"):
        return None
    extradata = getattr(stream.codec_context, "extradata", None) or b""  # type: ignore[attr-defined]
    # MP4/MKV carry length-prefixed NAL units (the extradata is an avcC/hvcC record, first byte 1);
    # MPEG-TS and raw streams carry Annex B start codes
    length_size = 0
    if extradata and extradata[0] == 1:
        length_size = (extradata[4] & 3) + 1 if codec == "h264" else (extradata[21] & 3) + 1
    vcl, filler = (_h264_vcl, _H264_FILLER) if codec == "h264" else (_hevc_vcl, _HEVC_FILLER)

    def parse(packet: object) -> tuple[bool | None, bool]:
        data = memoryview(packet)  # type: ignore[arg-type]
        reference, fill = None, False
        for header in (_length_prefixed(data, length_size) if length_size else _annex_b(data)):
            if reference is None:
                reference = vcl(header)
            fill = fill or filler(header)
        return reference, fill

    return parse


def _H264_FILLER(header: bytes) -> bool:  # noqa: N802 - a constant-like predicate
    return header[0] & 0x1F == 12


def _HEVC_FILLER(header: bytes) -> bool:  # noqa: N802
    return (header[0] >> 1) & 0x3F == 38


def _h264_vcl(header: bytes) -> bool | None:
    """For a slice NAL unit: whether it is a reference picture; None for other units."""
    kind = header[0] & 0x1F
    if kind in (1, 5):
        return (header[0] >> 5) & 3 != 0
    return None


def _hevc_vcl(header: bytes) -> bool | None:
    kind = (header[0] >> 1) & 0x3F
    if kind > 31 or len(header) < 2:
        return None
    # types 0..14 even are sub-layer non-reference pictures (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N, ...)
    return not (kind <= 14 and kind % 2 == 0)


def _length_prefixed(data: memoryview, size: int):  # noqa: ANN202 - generator of NAL headers
    at, end = 0, len(data)
    while at + size < end:
        length = int.from_bytes(data[at:at + size], "big")
        if length <= 0:
            return
        yield bytes(data[at + size:at + size + 2])
        at += size + length


def _annex_b(data: memoryview):  # noqa: ANN202 - generator of NAL headers
    raw = bytes(data)
    at = 0
    while True:
        at = raw.find(b"\x00\x00\x01", at)
        if at < 0 or at + 4 > len(raw):
            return
        yield raw[at + 3:at + 5]
        at += 3


# --- whether an H.264 stream declares a constant bitrate (sequence parameter set, HRD) ---------------

_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _declares_cbr(data: bytes) -> bool:
    """Whether a sequence parameter set in ``data`` (avcC record or Annex B units) has ``cbr_flag`` set."""
    for sps in _sps_units(data):
        try:
            if _sps_cbr(_unescape(sps)):
                return True
        except (IndexError, ValueError):  # a truncated or unusual SPS: no claim either way
            continue
    return False


def _sps_units(data: bytes) -> list[bytes]:
    if data[:1] == b"\x01" and len(data) > 8:  # avcC: version, profile, compat, level, length size, SPS count
        count, at, units = data[5] & 0x1F, 6, []
        for _ in range(count):
            length = int.from_bytes(data[at:at + 2], "big")
            units.append(data[at + 2:at + 2 + length])
            at += 2 + length
        return units
    units, at = [], 0
    while True:
        at = data.find(b"\x00\x00\x01", at)
        if at < 0:
            return units
        if at + 3 < len(data) and data[at + 3] & 0x1F == 7:
            end = data.find(b"\x00\x00\x01", at + 3)
            units.append(data[at + 3:end if end > 0 else len(data)])
        at += 3


def _unescape(nal: bytes) -> bytes:
    """Drop the emulation-prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


class _Bits:
    """Big-endian bit reader with Exp-Golomb codes (H.264 7.2, 9.1)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.at >> 3]
            value = (value << 1) | ((byte >> (7 - (self.at & 7))) & 1)
            self.at += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _sps_cbr(sps: bytes) -> bool:
    """Walk a sequence parameter set up to its VUI HRD parameters; True when any ``cbr_flag`` is set."""
    r = _Bits(sps[1:])  # after the NAL header
    profile = r.u(8)
    r.u(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    if profile in _HIGH_PROFILES:
        chroma = r.ue()
        if chroma == 3:
            r.u(1)
        r.ue(), r.ue(), r.u(1)  # bit depths, transform bypass
        if r.u(1):  # scaling matrices
            for i in range(12 if chroma == 3 else 8):
                if r.u(1):
                    last = nxt = 8
                    for _ in range(16 if i < 6 else 64):
                        if nxt:
                            nxt = (last + r.se() + 256) % 256
                        last = nxt or last
    r.ue()  # log2_max_frame_num
    poc = r.ue()
    if poc == 0:
        r.ue()
    elif poc == 1:
        r.u(1), r.se(), r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue(), r.u(1), r.ue(), r.ue()  # refs, gaps, width, height
    if not r.u(1):  # frame_mbs_only
        r.u(1)
    r.u(1)  # direct_8x8
    if r.u(1):  # cropping
        r.ue(), r.ue(), r.ue(), r.ue()
    if not r.u(1):  # no VUI
        return False
    if r.u(1) and r.u(8) == 255:  # aspect ratio
        r.u(32)
    if r.u(1):  # overscan
        r.u(1)
    if r.u(1):  # video signal type
        r.u(4)
        if r.u(1):
            r.u(24)
    if r.u(1):  # chroma location
        r.ue(), r.ue()
    if r.u(1):  # timing
        r.u(32), r.u(32), r.u(1)
    if not r.u(1):  # NAL HRD parameters
        return False
    count = r.ue() + 1
    r.u(8)  # bit rate and buffer size scales
    flags = []
    for _ in range(count):
        r.ue(), r.ue()
        flags.append(r.u(1))
    return any(flags)
