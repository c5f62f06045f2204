"""A file scanned in segments (``--jobs N`` on one file) reports what a one-process scan reports.

Generated recordings with events placed across segment boundaries: the stitched events must
equal the whole-file scan's (same count and kinds, starts and ends within a frame), also when an
event outlasts a segment's overtime and is cut and joined; score rows come out once per frame,
in order; snapshots are written for the events reported.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.archive_clips import VBR_B_FRAMES, Story, write
from vidwatch.config import load_config
from vidwatch.events import Event
from vidwatch.pipeline import run_source
from vidwatch.segments import EventNote, Segment, Timing, plan_split, run_segment
from vidwatch.sources.packets import read_packet_index
from vidwatch.sources.pyav_file import PyAVFileSource
from vidwatch.sources.segment import SegmentSource
from vidwatch.split import FilePlan, PictureOutputs, run_in_process
from vidwatch.stitch import Stitcher

STORY = Story(frames=900, crossings=[(140, 215), (390, 470), (700, 780)], light=[(560, 45.0)])
"""Three crossings and a light switched on, in 36 s."""


def _segments(index, bounds: list[int], timing: Timing) -> list[Segment]:
    """Contiguous segments with their own ranges starting at ``bounds`` (keyframes)."""
    assert all(index.keyframe_at_or_before(a) == a for a in bounds[:-1])
    n = bounds[-1]
    return [Segment(start=index.keyframe_at_or_before(max(0, a - timing.warmup)) if a else 0, own_start=a,
                    own_end=b, cap=b, limit=min(n, b + timing.overtime), floor=a)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def test_plan_split_cuts_at_keyframes_into_contiguous_segments(recording):
    index = read_packet_index(str(recording))
    segments = plan_split(index, 3, Timing(warmup=50, overtime=100))
    assert len(segments) == 3
    assert segments[0].own_start == 0 and segments[-1].cap == index.frames
    for before, after in zip(segments[:-1], segments[1:], strict=True):
        assert before.cap == after.own_start and index.keyframe_at_or_before(after.own_start) == after.own_start
        assert after.start == index.keyframe_at_or_before(after.own_start - 50)


def _full_scan(path, config):
    return run_source(str(path), config, []).events


def _same(found: list[Event], expected: list[Event]) -> None:
    assert [e.kind for e in found] == [e.kind for e in expected]
    for got, want in zip(found, expected, strict=True):
        assert abs(got.start_frame - want.start_frame) <= 1 and abs(got.end_frame - want.end_frame) <= 1, \
            (got.describe(), want.describe())
        assert got.peak == pytest.approx(want.peak, rel=0.05, abs=1e-3)
        assert set(got.detectors) == set(want.detectors)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return write(tmp_path_factory.mktemp("split") / "story.mp4", STORY)


@pytest.mark.parametrize("container", ["mp4", "ts"])
def test_a_segment_reads_frames_exactly_as_the_whole_file_reader(recording, tmp_path, container):
    if container == "ts":  # MPEG-TS: timestamps that do not start at 0, B-frames, a seek by timestamp
        recording = write(tmp_path / "story.ts", STORY, VBR_B_FRAMES)
    index = read_packet_index(str(recording))
    whole = {f.index: (f.time, f.image.copy()) for f in PyAVFileSource(str(recording))}
    assert index.frames == len(whole) == STORY.frames
    start = int(index.keyframes[7])
    frames = list(SegmentSource(index, start, start + 60))
    assert [f.index for f in frames] == list(range(start, start + 60))
    for f in frames:
        assert f.time == whole[f.index][0] and np.array_equal(f.image, whole[f.index][1])


def test_split_events_equal_a_whole_file_scan_with_boundaries_inside_events(recording):
    config = load_config(None)
    expected = _full_scan(recording, config)
    assert [e.kind for e in expected] == ["motion", "motion", "lighting", "motion"]
    index = read_packet_index(str(recording))
    timing = Timing(warmup=100, overtime=750)
    # boundaries at keyframes inside the first and second crossings and right on the light switch
    segments = _segments(index, [0, 175, 425, 550, 900], timing)
    stats, output = run_in_process(FilePlan(str(recording), index, timing, segments), config, [],
                                   pictures=PictureOutputs())
    _same(stats.events, expected)
    assert stats.frames == STORY.frames  # every frame's row belongs to exactly one segment


def test_a_segment_reports_only_the_events_that_open_in_its_own_range(recording):
    config = load_config(None)
    expected, openings = _scan_with_openings(recording, config)
    index = read_packet_index(str(recording))
    # its own range begins just after the first crossing's event opens (dated back to where the
    # square was first seen) and ends just after the second's opens: the first is seen in its warm-up
    own_start = next(int(k) for k in index.keyframes if k > openings[0])
    cap = next(int(k) for k in index.keyframes if k > openings[1])
    assert expected[1].start_frame < cap < expected[1].end_frame
    segment = Segment(start=index.keyframe_at_or_before(expected[0].start_frame - 40), own_start=own_start,
                      own_end=cap, cap=cap, limit=900)
    reports: list[tuple[str, Event, EventNote | None]] = []
    result = run_segment(index, segment, config, lambda *report: reports.append(report))
    assert [e.start_frame for what, e, _ in reports if what == "incoming"] == [expected[0].start_frame]
    assert [e.start_frame for what, e, _ in reports if what == "started"] == [expected[1].start_frame]
    # it went on past its cap until its own crossing (post-roll after) had closed, and no further
    ended = [e for what, e, _ in reports if what == "ended"]
    assert len(ended) == 1 and ended[0].end_frame == expected[1].end_frame <= result.stopped_at < openings[2]
    assert result.owned_frames == cap - own_start


def test_an_event_longer_than_the_overtime_is_cut_and_joined(recording):
    config = load_config(None)
    expected = _full_scan(recording, config)
    index = read_packet_index(str(recording))
    timing = Timing(warmup=100, overtime=20)  # every crossing outlasts the overtime
    segments = _segments(index, [0, 175, 425, 725, 900], timing)
    stats, output = run_in_process(FilePlan(str(recording), index, timing, segments), config, [],
                                   pictures=PictureOutputs())
    _same(stats.events, expected)
    cut = [r for r in output.results if r.stopped_at + 1 == r.segment.limit < index.frames]
    assert cut, "no segment was cut: the test does not exercise joining"
    for got, want in zip(stats.events, expected, strict=True):  # the things tracked, over the whole event
        assert _things(got) == _things(want), (got.describe(), want.describe())


def _things(event: Event) -> list[tuple[int, int, list[int], list[int]]]:
    """(first seen, last seen, to the frame; first and last position, to the pixel) of each thing an
    event tracked (ids are numbered per process)."""
    return [(round(e["first_time"] * 25), round(e["last_time"] * 25), [round(v) for v in e["path"][0][1:]],
             [round(v) for v in e["path"][-1][1:]]) for e in event.extra.get("tracks", [])]


def _event(kind: str, start: int, end: int, peak: float) -> Event:
    return Event(kind, start, start / 25, end, end / 25, detectors=["diff"], peak={"diff": peak}, peak_frame=start,
                 peak_time=start / 25)


class _Ends:
    def __init__(self) -> None:
        self.ended: list[Event] = []

    def event_started(self, event: Event) -> None:
        pass

    def event_ended(self, event: Event) -> None:
        self.ended.append(event)


def test_stitcher_joins_a_cut_event_with_its_continuation_and_drops_warmup_pieces(tmp_path):
    out = _Ends()
    stitcher = Stitcher(out)  # type: ignore[arg-type]
    first = Segment(start=0, own_start=0, own_end=100, cap=100, limit=130)
    second = Segment(start=50, own_start=100, own_end=200, cap=200, limit=230)
    snapshot = tmp_path / "piece.jpg"
    snapshot.write_bytes(b"jpeg")
    stitcher.begin(first)
    cut = _event("motion", 80, 129, 0.01)
    stitcher.started(cut)
    stitcher.ended(cut, EventNote(owned=True, cut=True, strength=2.0))
    assert out.ended == []  # held: the next segment decides where it ends
    stitcher.finish_segment()
    stitcher.begin(second)
    stitcher.incoming(_event("motion", 90, 160, 0.03), EventNote(owned=False, cut=False, strength=6.0))
    piece = _event("motion", 120, 140, 0.02)  # opened by the later segment inside the event: not its own
    piece.extra["snapshot"] = str(snapshot)
    stitcher.started(piece)
    stitcher.ended(piece, EventNote(owned=True, cut=False, strength=1.0))
    later = _event("motion", 180, 190, 0.01)
    stitcher.started(later)
    stitcher.ended(later, EventNote(owned=True, cut=False, strength=1.0))
    stitcher.finish_segment()
    stitcher.close()
    assert [(e.start_frame, e.end_frame) for e in out.ended] == [(80, 160), (180, 190)]
    assert out.ended[0].peak["diff"] == 0.03 and out.ended[0].peak_frame == 90
    assert not snapshot.exists()


HIDDEN = Story(frames=400, crossings=[(140, 215)], hidden=[(146, 153)])
"""One crossing, out of sight for a third of a second soon after it enters: the tracker keeps the
thing, and its event (opened once the thing is old enough, ``objects.min_age``) starts where it was
first seen."""


def test_an_event_dated_back_to_its_things_first_sighting_across_a_boundary(tmp_path):
    """The boundary falls between the thing's first sighting and the frame its event opens, where
    nothing is over threshold (the thing is out of sight): the segment before may stop there, so
    the segment where the event opens must report it, with the start a whole-file scan gives."""
    path = write(tmp_path / "hidden.mp4", HIDDEN)
    config = load_config(None)
    expected, openings = _scan_with_openings(path, config)
    index = read_packet_index(str(path))
    boundary = 150
    assert index.keyframe_at_or_before(boundary) == boundary
    assert len(expected) == 1 and expected[0].start_frame < boundary < openings[0]
    assert HIDDEN.hidden[0][0] < boundary - 1 < HIDDEN.hidden[0][1], "the frame before the boundary must be quiet"
    timing = Timing(warmup=100, overtime=750)
    stats, _ = run_in_process(FilePlan(str(path), index, timing, _segments(index, [0, boundary, 400], timing)),
                              config, [], pictures=PictureOutputs())
    _same(stats.events, expected)


def _scan_with_openings(path, config) -> tuple[list[Event], list[int]]:
    """A whole-file scan's events, and the frames on which it opened them."""

    class Openings:
        name = "openings"
        shows_pictures = False

        def __init__(self) -> None:
            self.index = -1
            self.frames: list[int] = []

        def frame(self, record) -> None:
            self.index = record.index

        def event_started(self, event: Event) -> None:
            self.frames.append(self.index)

        def event_ended(self, event: Event) -> None:
            pass

        def close(self) -> None:
            pass

    sink = Openings()
    events = run_source(str(path), config, [sink]).events  # type: ignore[list-item]
    return events, sink.frames


def test_a_stretch_that_sees_an_event_open_in_unowned_frames_starts_again_earlier(recording):
    """A triage plan that missed the first crossing: the stretch before it ends at 100 and the next
    one's own range begins at 300, so the crossing opens (once old enough, objects.min_age) and closes in frames no
    stretch owns, inside the second stretch's warm-up, and all is quiet again where its own range
    begins. The stretch must run again from earlier and report it."""
    from vidwatch.triage import TriagePlan

    config = load_config(None)
    expected = _full_scan(recording, config)
    index = read_packet_index(str(recording))
    timing = Timing(warmup=100, overtime=750)
    segments = [Segment(start=0, own_start=0, own_end=100, cap=300, limit=900, floor=0),
                Segment(start=100, own_start=300, own_end=900, cap=900, limit=900, floor=100)]
    plan = FilePlan(str(recording), index, timing, segments,
                    triage=TriagePlan(segments, index.frames, 850, []))
    stats, output = run_in_process(plan, config, [], pictures=PictureOutputs())
    _same(stats.events, expected)
    assert min(r.segment.own_start for r in output.results[1:]) == 100  # back to the end of the stretch before
    assert stats.frames == STORY.frames  # every frame's row once
