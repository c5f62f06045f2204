"""Compressed-domain triage: find the stretches of a recording worth decoding, without decoding it.

Decoding every frame is the floor for a scan that looks at every frame. Most of an archive is an
empty scene, and the encoder has already said so: it spends few bytes on a frame that repeats the
one before and many on one where something changed. Two cheap signals are read:

- **packet sizes**, from demuxing alone (:mod:`vidwatch.sources.packets`): each frame's size
  against a robust running baseline of frames of its own class (keyframes, P-, B-frames differ by
  tens of times), in robust spreads. A sudden, large change between keyframes — a fast passer-by,
  a light switched on, a shaking camera — makes packets jump;
- **keyframes**, the only frames decoded here (the decoder skips the rest), shrunk to a small grey
  picture and compared with the keyframe before: anything that came, went or moved in between,
  however slow, changes the picture, and a light change shifts its brightness. Where the smallest
  object to find (``objects.min_size``, in source pixels) would be averaged away in that small
  picture — a distant person in a 1080p one — the keyframes are also compared at the scale that
  object needs, for a change of its size.

Every stretch between two keyframes that either signal marks is decoded in full and analysed by
the ordinary pipeline (:mod:`vidwatch.segments`: a warm-up before each, and each run continues
until nothing is open), so events carry the same fields a full scan gives them.

Where the signals cannot be trusted the stretch is decoded in full anyway ("fallback"): an
all-intra stream (every frame a keyframe: nothing to skip), a constant-bitrate stream (declared in
its sequence parameters, filler data, or packet sizes held flat by rate control, so they do not
follow the picture), very noisy footage (keyframes differ everywhere by noise), and a file whose
packets did not grow where its keyframes showed large changes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vidwatch.detectors.background import light_fit
from vidwatch.errors import SourceError
from vidwatch.preprocess import VIDEO_TO_FULL_RANGE, downscale
from vidwatch.segments import Segment, Timing
from vidwatch.sources.packets import KEY, PacketIndex
from vidwatch.sources.pyav_file import av, grey_of
from vidwatch.triage_marks import Lines, find_lines, lines_mask

if TYPE_CHECKING:
    from vidwatch.config import Config

log = logging.getLogger(__name__)

COMPARE_WIDTH = 160
"""Width keyframes are shrunk to before comparing: averaging 12x12 pixels of a 1080p frame cuts
sensor noise about twelve times, while a distant person (0.3 % of the picture) still covers 40."""
CHANGE_SIGMAS = 5.0
"""A pixel changed between keyframes when it differs by this many noise sigmas of the difference..."""
CHANGE_LEVEL = 6.0
"""...and by at least this many grey levels."""
CHANGE_AREA = 0.0004
"""Share of the picture that must change between two keyframes for the stretch to be decoded: a
quarter of the smallest region the detectors report by default (0.1 %), so anything they could
find is seen here first."""
SMALLEST_ACROSS = 3.0
"""Pixels of the finer comparison across the narrow side of the smallest object to find: at
``COMPARE_WIDTH`` a 10-pixel-wide person in a 1080p picture is under one pixel, its change averaged
into the ground around it."""
MAX_FINE_WIDTH = 640
"""Widest the finer comparison gets (a 4K picture: the smallest object then spans about two pixels)."""
SMALLEST_SHARE = 0.25
"""Share of the smallest object's area that must change in the finer comparison (the object's
coarse counterpart is ``CHANGE_AREA``, a quarter of the smallest region)."""
LIGHT_STEP = 2.5
"""Grey levels the median brightness must move between consecutive keyframes to count as a light change."""
NOISY_SIGMA = 8.0
"""Noise sigma (grey levels, of the shrunk keyframes' difference) above which keyframes cannot be
compared: the footage is decoded in full."""
SIZE_SIGMAS = 6.0
"""A packet this many robust spreads above its class's running baseline marks activity..."""
SIZE_RISE = 0.3
"""...if it is also this much larger than the baseline (a jump, not noise around a flat baseline)..."""
SIZE_KEY_SHARE = 0.01
"""...and larger by at least this share of a keyframe (what coding 1 % of the picture afresh costs):
a few bytes more on a frame of a few dozen is no activity."""
GOP_RISE = 1.0
"""Median excess (in spreads) of the predicted frames between two keyframes that marks the stretch:
a smaller, sustained rise."""
PROFILE_POSITIONS = 32
"""Frames after a keyframe whose typical size is learnt separately (later ones share one)."""
BASELINE_SECONDS = 60.0
"""Span of video the running baseline of packet sizes is taken over, centred on each frame."""
BLOCK_FRAMES = 16
"""Packets of a class summarised together (median and spread) for the running baseline."""
FLAT_CV = 0.03
"""Packet sizes varying less than this (robust spread over median) are held flat by rate control."""
WINDOW_SECONDS = 30.0
"""Span over which the fallback rules are judged."""
BIG_CHANGE = 0.02
"""A keyframe change this large (share of the picture) must show in the packet sizes around it..."""
JUDGE_CHANGES = 4
"""...judged once there are this many such changes (a third of them must show)."""
PAD_SECONDS = 1.0
"""Decoded on each side of a packet-size spike."""
UNSCHEDULED = 0.75
"""A keyframe this much sooner after the one before than the file's usual spacing was not on the
encoder's schedule: it chose one because the picture changed too much to predict (a cut, a camera
knocked), which a comparison of keyframes further apart can miss when the picture changes back."""
KEY_SPACING = 4.0
"""Keyframes are compared at most this many seconds apart (consecutive keyframes where they are
further apart). Decoding a keyframe costs about as much as ten other frames; between two compared
keyframes, packet sizes are the watch."""


@dataclass(frozen=True, slots=True)
class KeyframeChange:
    """How two consecutive keyframes differ."""

    first: int
    """Frame index of the earlier keyframe."""
    second: int
    changed: float
    """Share of the picture that changed (beyond noise)."""
    shift: float
    """Median brightness change, grey levels."""
    noise: float
    """Noise sigma of the difference, grey levels."""
    small: float = 0.0
    """Share of the finer comparison's picture that changed (0 where there is none)."""
    small_needed: float = math.inf
    """Share of the finer picture the smallest object to find covers, times ``SMALLEST_SHARE``."""

    @property
    def active(self) -> bool:
        return (self.changed >= CHANGE_AREA or abs(self.shift) >= LIGHT_STEP or self.noise > NOISY_SIGMA
                or self.small >= self.small_needed)


@dataclass(slots=True)
class TriagePlan:
    """What triage decided for one file."""

    segments: list[Segment]
    frames: int
    planned: int
    """Frames the segments cover (own frames and warm-ups)."""
    fallbacks: list[tuple[int, int, str]] = field(default_factory=list)
    """(first frame, end frame, reason) of stretches decoded in full because the signals are not trusted."""

    @property
    def share(self) -> float:
        return self.planned / self.frames if self.frames else 1.0

    def describe(self) -> str:
        text = (f"triage: {len(self.segments)} stretch{'es' if len(self.segments) != 1 else ''} to decode, "
                f"{100 * self.share:.1f} % of {self.frames} frames")
        reasons = sorted({reason for _, _, reason in self.fallbacks})
        if reasons:
            text += f"; decoded in full where {', '.join(reasons)}"
        return text


# --- keyframes ------------------------------------------------------------------------------------

Pictures = tuple[np.ndarray, np.ndarray | None, float]
"""A keyframe shrunk for comparing: the small picture, the finer one (None where the small one is
fine enough) and the share of the finer picture the smallest object to find covers."""


def compare_keyframes(index: PacketIndex, keys: Sequence[int], smallest: tuple[int, int] | None = None,
                      burnt_in_width: int = 0) -> list[KeyframeChange]:
    """Decode the keyframes ``keys`` small and compare each with the one before; where two differ,
    the keyframes between them are decoded too, so the change is placed to the keyframe interval.
    ``smallest`` is the smallest object to find, [width, height] in source pixels (None: the
    smallest region the detectors report is the guide). With ``burnt_in_width`` (the analysis
    width), the first seconds from the first keyframe are decoded in full to find what the camera
    burns into its picture, whose lines are left out of the comparisons (see
    :mod:`vidwatch.triage_marks`).

    Otherwise only the keyframes asked for are decoded; no other packet reaches the decoder.
    """
    if len(keys) < 2:
        return []
    lines = find_lines(index, keys[0], burnt_in_width) if burnt_in_width else []
    if lines:
        log.debug("%s: burnt-in lines left out of the keyframe comparisons: %s", index.path, lines)
    pictures = _decode_keyframes(index, keys, smallest)
    changes = _compare_runs(keys, pictures, lines)
    all_keys = index.keyframes

    def between(a: int, b: int) -> list[int]:
        return [int(k) for k in all_keys[np.searchsorted(all_keys, a, "right"):np.searchsorted(all_keys, b)]]

    finer = [k for c in changes if c.active for k in between(c.first, c.second)]
    if finer:
        pictures.update(_decode_keyframes(index, finer, smallest))
        refined: list[KeyframeChange] = []
        for change in changes:
            inner = between(change.first, change.second)
            if change.active and inner:
                refined += _compare_runs([change.first, *inner, change.second], pictures, lines)
            else:
                refined.append(change)
        changes = refined
    return changes


def _compare_runs(keys: Sequence[int], pictures: dict[int, Pictures], lines: Lines) -> list[KeyframeChange]:
    changes = []
    for a, b in zip(keys[:-1], keys[1:], strict=True):
        if a in pictures and b in pictures:
            changes.append(_compare(a, b, pictures[a], pictures[b], lines))
        else:  # a keyframe that did not decode: nothing is known about this stretch, so decode it
            changes.append(KeyframeChange(a, b, 1.0, 0.0, 0.0))
    return changes


def _decode_keyframes(index: PacketIndex, keys: Sequence[int],
                      smallest: tuple[int, int] | None) -> dict[int, Pictures]:
    """The keyframes ``keys`` (ascending), each shrunk to a small grey picture (and a finer one)."""
    wanted = {int(index.pts[k]): int(k) for k in keys}
    last_pts = int(index.pts[keys[-1]])
    pictures: dict[int, Pictures] = {}
    try:
        container = av.open(index.path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise SourceError(f"cannot open '{index.path}' ({exc}); check that the file is still there") from None
    try:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # one picture at a time: frame threads would only wait for the next
        stream.codec_context.options = {"skip_loop_filter": "all"}  # the picture is shrunk twelvefold anyway
        first_pts = int(index.pts[keys[0]])
        if keys[0] > 0:
            container.seek(first_pts, stream=stream, backward=True, any_frame=False)
        for attempt in range(2):
            started = False
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                if not started:
                    if packet.pts != first_pts and attempt == 0 and packet.is_keyframe and packet.pts > first_pts:
                        break  # the seek landed past the first keyframe asked for (an inexact index)
                    started = packet.pts == first_pts or attempt == 1
                if packet.pts not in wanted:
                    if packet.pts > last_pts and packet.is_keyframe:
                        break
                    continue
                try:
                    _keep(packet.decode(), wanted, pictures, smallest)
                except av.error.InvalidDataError:
                    continue
            if started or attempt == 1:
                break
            container.seek(0, stream=stream, backward=True, any_frame=False)
        _keep(stream.codec_context.decode(None), wanted, pictures, smallest)  # what the decoder still holds
    except av.error.FFmpegError as exc:
        log.warning("%s: reading keyframes stopped: %s", index.path, exc)
    finally:
        container.close()
    return pictures


def _keep(frames: Sequence[object], wanted: dict[int, int], pictures: dict[int, Pictures],
          smallest: tuple[int, int] | None) -> None:
    for frame in frames:
        k = wanted.get(frame.pts)  # type: ignore[attr-defined]
        if k is not None:
            pictures[k] = _pictures(frame, smallest)


def burnt_in_width(config: Config) -> int:
    """The analysis width at which triage looks for burnt-in marks (0: it does not: ``zones.burnt_in``
    is off)."""
    if not config.zones.burnt_in:
        return 0
    return config.analysis.width or COMPARE_WIDTH


def smallest_object(config: Config) -> tuple[int, int] | None:
    """The smallest object to find, [width, height] in source pixels, when the object stage looks for one."""
    objects = config.objects
    return (objects.min_size[0], objects.min_size[1]) if objects.enabled else None


def fine_width(width: int, smallest: tuple[int, int] | None) -> int:
    """Width of the finer comparison for a picture ``width`` pixels wide, or 0 when the small
    picture (``COMPARE_WIDTH``) already gives the smallest object ``SMALLEST_ACROSS`` pixels."""
    if smallest is None or width <= COMPARE_WIDTH:
        return 0
    needed = min(math.ceil(width * SMALLEST_ACROSS / min(smallest)), MAX_FINE_WIDTH, width)
    return needed if needed > COMPARE_WIDTH else 0


def _pictures(frame: object, smallest: tuple[int, int] | None) -> Pictures:
    """A decoded frame as a small, lightly blurred grey picture on the 0..255 scale, and the finer one."""
    grey, limited = grey_of(frame)
    height, width = grey.shape
    small = _shrunk(grey, min(COMPARE_WIDTH, width), limited)
    fine = fine_width(width, smallest)
    if not fine or smallest is None:
        return small, None, math.inf
    scale = fine / width
    share = (smallest[0] * scale) * (smallest[1] * scale) / (fine * max(1, round(height * scale)))
    return small, _shrunk(grey, fine, limited), share


def _shrunk(grey: np.ndarray, width: int, limited: bool) -> np.ndarray:
    height = max(1, round(grey.shape[0] * width / grey.shape[1]))
    small = downscale(grey, (width, height)) if width != grey.shape[1] else grey.copy()
    if limited:
        small = cv2.LUT(small, VIDEO_TO_FULL_RANGE)
    return cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32)


_OPEN = np.ones((2, 2), np.uint8)


def _compare(a: int, b: int, before: Pictures, after: Pictures, lines: Lines) -> KeyframeChange:
    """What changed from ``before`` to ``after``, once the light is fitted away: in the small
    pictures, and in the finer ones where there are finer ones; nothing in burnt-in ``lines``."""
    if before[0].shape != after[0].shape:
        return KeyframeChange(a, b, 1.0, 0.0, 0.0)
    changed, noise = _changed(before[0], after[0], lines_mask(lines, before[0].shape))
    shift = float(np.median(after[0]) - np.median(before[0]))
    if before[1] is None or after[1] is None or before[1].shape != after[1].shape:
        return KeyframeChange(a, b, changed, shift, noise)
    small, _ = _changed(before[1], after[1], lines_mask(lines, before[1].shape))
    return KeyframeChange(a, b, changed, shift, noise, small, SMALLEST_SHARE * after[2])


def _changed(before: np.ndarray, after: np.ndarray, ignore: np.ndarray | None = None) -> tuple[float, float]:
    """The share of the picture that changed from ``before`` to ``after`` beyond the noise (none where
    ``ignore`` is True), and the noise sigma of their difference.

    The after-picture is matched to the before-picture by a robust gain and offset (the
    background model's light fit), so a cloud or a switched light changes the brightness figure,
    not the count of changed pixels; the pixels the fit leaves unexplained beyond the noise are
    what came, went or moved.
    """
    gain, offset = light_fit(after, before, step=2)
    residual = after - (gain * before + offset)
    centre = float(np.median(residual))
    deviation = np.abs(residual - centre)
    noise = 1.4826 * float(np.median(deviation))
    if ignore is not None:
        deviation[ignore] = 0.0
    changed = (deviation > max(CHANGE_LEVEL, CHANGE_SIGMAS * noise)).astype(np.uint8)
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, _OPEN)  # single pixels are noise
    return float(changed.mean()), noise


def sampled_keyframes(index: PacketIndex) -> list[int]:
    """The keyframes that are decoded and compared: consecutive ones, or where keyframes come more
    often than every ``KEY_SPACING`` seconds, the furthest apart within that spacing."""
    keys = [int(k) for k in index.keyframes]
    if not keys:
        return []
    kept = [keys[0]]
    for i, k in enumerate(keys[1:], 1):
        following = keys[i + 1] if i + 1 < len(keys) else None
        if following is None or index.times[following] - index.times[kept[-1]] > KEY_SPACING + 1e-6:
            kept.append(k)
    return kept


# --- packet sizes -----------------------------------------------------------------------------------

def size_excess(index: PacketIndex) -> np.ndarray:
    """Each frame's packet size above its class's running baseline, in robust spreads (0 for keyframes).

    The baseline and spread of a class are medians over ``BASELINE_SECONDS`` of per-block medians
    and median absolute deviations, so activity filling less than half that span does not lift
    the baseline it is measured against.
    """
    excess = np.zeros(index.frames, np.float64)
    rise = np.zeros(index.frames, bool)
    position = _since_keyframe(index)
    keyframe_size = float(np.median(index.sizes[index.classes == KEY]))
    for cls in np.unique(index.classes):
        if cls == KEY:
            continue
        where = np.flatnonzero(index.classes == cls)
        if where.size < 2 * BLOCK_FRAMES:
            continue
        sizes = index.sizes[where].astype(np.float64)
        profile = _position_profile(sizes, position[where])
        sizes /= profile
        base, spread = _running_baseline(sizes, where, index)
        excess[where] = (sizes - base) / np.maximum(spread, np.maximum(0.02 * base, 8.0))
        rise[where] = sizes - base > np.maximum(SIZE_RISE * base, SIZE_KEY_SHARE * keyframe_size / profile)
    return np.where(rise, excess, np.minimum(excess, SIZE_SIGMAS - 1e-6))


def _since_keyframe(index: PacketIndex) -> np.ndarray:
    """Frames since the last keyframe, for every frame."""
    last = np.maximum.accumulate(np.where(index.classes == KEY, np.arange(index.frames), 0))
    return np.arange(index.frames) - last


def _position_profile(sizes: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Each frame's expected size relative to its class's typical one, from its place after the keyframe.

    Encoders spend more on the frames just after a keyframe (they are predicted from a sharper
    picture, and rate control tapers) — two to three times as much on the first, falling over a
    dozen frames. Sizes are divided by this profile (per position, the median over the file) so
    that the taper is not taken for activity.
    """
    typical = float(np.median(sizes)) or 1.0
    factor = np.ones(sizes.size)
    for p in np.unique(position[position < PROFILE_POSITIONS]):
        at = position == p
        if at.sum() >= 8:
            factor[at] = max(float(np.median(sizes[at])) / typical, 0.1)
    return factor


def _running_baseline(sizes: np.ndarray, where: np.ndarray, index: PacketIndex) -> tuple[np.ndarray, np.ndarray]:
    n = sizes.size
    blocks = math.ceil(n / BLOCK_FRAMES)
    padded = np.full(blocks * BLOCK_FRAMES, np.nan)
    padded[:n] = sizes
    grid = padded.reshape(blocks, BLOCK_FRAMES)
    medians = np.nanmedian(grid, axis=1)
    mads = np.nanmedian(np.abs(grid - medians[:, None]), axis=1) * 1.4826
    # how many blocks span BASELINE_SECONDS for this class
    span = (index.times[where[-1]] - index.times[where[0]]) or 1.0
    per_block = span / blocks
    half = max(2, int(BASELINE_SECONDS / 2 / max(per_block, 1e-6)))
    base_blocks = np.empty(blocks)
    spread_blocks = np.empty(blocks)
    for b in range(blocks):
        lo, hi = max(0, b - half), min(blocks, b + half + 1)
        base_blocks[b] = np.median(medians[lo:hi])
        spread_blocks[b] = np.median(mads[lo:hi])
    block_of = np.arange(n) // BLOCK_FRAMES
    return base_blocks[block_of], spread_blocks[block_of]


# --- planning ----------------------------------------------------------------------------------------

def keyframe_chunks(index: PacketIndex, parts: int) -> list[list[int]]:
    """The sampled keyframes split into ``parts`` runs that overlap by one keyframe (each pair compared once)."""
    keys = sampled_keyframes(index)
    parts = max(1, min(parts, len(keys) - 1)) if len(keys) > 1 else 1
    bounds = [round(i * (len(keys) - 1) / parts) for i in range(parts + 1)]
    return [keys[a:b + 1] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def plan(index: PacketIndex, changes: Sequence[KeyframeChange], timing: Timing) -> TriagePlan:
    """The stretches to decode, as segments, from the packet sizes and the keyframe comparisons."""
    n = index.frames
    active = np.zeros(n, bool)
    fallbacks = _fallbacks(index, changes)
    for first, end, _ in fallbacks:
        active[first:end] = True
    for change in changes:
        if change.active:
            active[change.first:change.second + 1] = True
    excess = size_excess(index)
    pad = max(1, round(PAD_SECONDS * index.fps))
    for f in np.flatnonzero(excess >= SIZE_SIGMAS):
        active[max(0, f - pad):f + pad + 1] = True
    keys = index.keyframes
    gaps = np.diff(keys)
    if gaps.size >= 3:
        usual = float(np.median(gaps))
        for k in keys[1:][gaps < UNSCHEDULED * usual]:
            active[max(0, int(k) - pad):int(k) + pad + 1] = True
    for a, b in zip(keys[:-1], keys[1:], strict=True):
        inner = excess[a + 1:b][index.classes[a + 1:b] != KEY]
        if inner.size >= 4 and float(np.median(inner)) >= GOP_RISE:
            active[a:b + 1] = True
    if keys.size and keys[-1] < n - 1:  # after the last keyframe nothing can be compared: decode it
        tail = excess[keys[-1] + 1:]
        if tail.size and (tail.size < 4 or float(np.median(tail)) >= GOP_RISE):
            active[keys[-1]:] = True
    stretches = _stretches(active, timing)
    segments = _segments(index, stretches, timing)
    planned = sum(min(s.cap, s.own_end) - s.start for s in segments)
    return TriagePlan(segments, n, planned, fallbacks)


def _fallbacks(index: PacketIndex, changes: Sequence[KeyframeChange]) -> list[tuple[int, int, str]]:
    """Windows where the signals cannot be trusted, each with the reason."""
    n = index.frames
    out: list[tuple[int, int, str]] = []
    window = max(1, round(WINDOW_SECONDS * index.fps))
    noise_at = np.zeros(n)
    for change in changes:
        noise_at[change.first:change.second + 1] = change.noise
    for first in range(0, n, window):
        end = min(n, first + window)
        classes = index.classes[first:end]
        predicted = classes != KEY
        reason = None
        if predicted.sum() < max(2, 0.5 * (end - first)):
            reason = "every frame is a keyframe"
        elif index.filler[first:end].any():
            reason = "the bitrate is constant (filler data)"
        else:
            sizes = index.sizes[first:end][predicted].astype(np.float64)
            median = float(np.median(sizes))
            spread = 1.4826 * float(np.median(np.abs(sizes - median)))
            if median > 0 and spread / median < FLAT_CV:
                reason = "the bitrate is constant (flat packet sizes)"
            elif float(np.median(noise_at[first:end])) > NOISY_SIGMA:
                reason = "the footage is too noisy"
        if reason:
            out.append((first, end, reason))
    if index.constant_bitrate:
        out = [(0, n, "the stream declares a constant bitrate")]
    elif not _sizes_follow_picture(index, changes):
        out = [(0, n, "packet sizes do not follow the picture")]
    return out


def _sizes_follow_picture(index: PacketIndex, changes: Sequence[KeyframeChange]) -> bool:
    """Where keyframes show a large change of the picture's content, did packets grow around it?

    False when they mostly did not (rate control holding them flat): then sizes cannot be trusted
    to show what happens between compared keyframes. Light changes are left out (encoders predict
    a fade or a switched light with a weight, at almost no cost), and so is the stretch on either
    side (a change that falls on a keyframe shows in none of the frames between).
    """
    big = [i for i, c in enumerate(changes) if c.changed >= BIG_CHANGE and abs(c.shift) < LIGHT_STEP]
    if len(big) < JUDGE_CHANGES:
        return True  # too little to judge by
    excess = size_excess(index)

    def grew(c: KeyframeChange) -> bool:
        inner = excess[c.first + 1:c.second]
        return bool(inner.size) and (float(np.max(inner)) >= SIZE_SIGMAS or float(np.median(inner)) >= GOP_RISE)

    follows = sum(1 for i in big if any(grew(changes[j]) for j in (i - 1, i, i + 1) if 0 <= j < len(changes)))
    return follows * 3 >= len(big)


def _stretches(active: np.ndarray, timing: Timing) -> list[tuple[int, int]]:
    """Runs of active frames, joined when the gap between them is shorter than a warm-up would be."""
    runs: list[tuple[int, int]] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.view(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if runs and a - runs[-1][1] <= timing.warmup:
            runs[-1] = (runs[-1][0], int(b))
        else:
            runs.append((int(a), int(b)))
    return runs


def _segments(index: PacketIndex, stretches: list[tuple[int, int]], timing: Timing) -> list[Segment]:
    n = index.frames
    planned: list[tuple[int, int, int]] = []  # (start, own_start, own_end)
    for a, b in stretches:
        start = index.keyframe_at_or_before(max(0, a - timing.warmup)) if a > 0 else 0
        own_start = 0 if start == 0 else min(a, start + timing.warmup)
        if planned and own_start <= planned[-1][2]:  # the warm-up reaches back into the stretch before
            prev = planned.pop()
            start, own_start = prev[0], prev[1]
        planned.append((start, own_start, b))
    segments = []
    for i, (start, own_start, own_end) in enumerate(planned):
        cap = planned[i + 1][1] if i + 1 < len(planned) else n
        floor = planned[i - 1][2] if i > 0 else 0
        segments.append(Segment(start=start, own_start=own_start, own_end=own_end, cap=cap,
                                limit=min(n, cap + timing.overtime), floor=floor))
    return segments
