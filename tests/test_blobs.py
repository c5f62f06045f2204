"""find_blobs: which regions of a change mask are kept, and where they are."""

from __future__ import annotations

import cv2
import numpy as np

from vidwatch.blobs import find_blobs

SHAPE = (180, 320)


def _clean(mask: np.ndarray, **overrides: object):
    options = dict(open_size=3, close_size=0, min_area=58.0, valid_pixels=None, previous=None, reach=0)
    options.update(overrides)
    return find_blobs(mask, **options)


def test_an_empty_mask_has_no_blobs() -> None:
    blobs = _clean(np.zeros(SHAPE, np.uint8))
    assert (blobs.area_fraction, blobs.count, blobs.largest_box) == (0.0, 0, None)


def test_specks_alone_are_dropped_but_counted_as_raw_change() -> None:
    mask = np.zeros(SHAPE, np.uint8)
    mask[::20, ::20] = 255  # isolated pixels: opening removes every one
    blobs = _clean(mask)
    assert blobs.count == 0 and blobs.area_fraction == 0.0
    assert blobs.raw_fraction == np.count_nonzero(mask) / mask.size
    assert not blobs.mask.any()


def test_regions_away_from_the_corner_keep_their_place_and_small_ones_go() -> None:
    mask = np.zeros(SHAPE, np.uint8)
    mask[100:140, 200:230] = 255  # 1200 px: kept, the largest
    mask[20:30, 40:60] = 255  # 200 px: kept
    mask[150:154, 10:14] = 255  # 16 px: under min_area (100 px), dropped
    blobs = _clean(mask, open_size=0, min_area=100)
    assert blobs.count == 2
    assert blobs.largest_box == (200, 100, 30, 40)
    assert blobs.area_fraction == (1200 + 200) / mask.size
    expected = mask.copy()
    expected[150:154, 10:14] = 0
    assert np.array_equal(blobs.mask, expected)


def test_closing_joins_the_fragments_of_one_object() -> None:
    mask = np.zeros(SHAPE, np.uint8)
    mask[50:90, 60:70] = 255
    mask[50:90, 73:83] = 255  # a 3-pixel gap, as a difference mask leaves inside a moving object
    assert _clean(mask).count == 2
    joined = _clean(mask, close_size=7)
    assert joined.count == 1 and joined.largest_box == (60, 50, 23, 40)


def test_reach_drops_changes_far_from_last_frames_changes() -> None:
    previous = np.zeros(SHAPE, np.uint8)
    previous[40:60, 40:60] = 255
    mask = np.zeros(SHAPE, np.uint8)
    mask[42:62, 42:62] = 255  # the object, moved by two pixels: kept
    mask[120:140, 250:270] = 255  # a new splash far away: dropped
    blobs = _clean(mask, previous=previous, reach=2)
    assert blobs.count == 1
    x, y, w, h = blobs.largest_box
    assert (x, y) == (42, 42) and w <= 20 and h <= 20
    assert cv2.countNonZero(blobs.mask[100:, 200:]) == 0


def test_the_object_stage_reads_the_blobs_labelling_as_if_it_labelled_the_mask_itself() -> None:
    from vidwatch.objects.regions import find_regions

    mask = np.zeros(SHAPE, np.uint8)
    mask[100:140, 200:230] = 255  # 1200 px
    mask[20:30, 40:60] = 255  # 200 px
    mask[60:75, 100:108] = 255  # 120 px
    mask[150:156, 10:16] = 255  # 36 px: dropped by the blobs (min_area 100), though the object stage's bar is lower
    blobs = _clean(mask, open_size=0, min_area=100)
    assert blobs.components is not None
    labelled = find_regions(blobs.mask, min_area=30, max_regions=2, components=blobs.components)
    fresh = find_regions(blobs.mask, min_area=30, max_regions=2)
    assert [(r.box, r.area, r.centre) for r in labelled.regions] == [(r.box, r.area, r.centre) for r in fresh.regions]
    assert [r.box for r in labelled.regions] == [(200, 100, 30, 40), (40, 20, 20, 10)]  # largest first, at most 2
    everything = find_regions(blobs.mask, min_area=30, max_regions=8, components=blobs.components)
    assert sorted(r.area for r in everything.regions) == [120, 200, 1200]  # not the region the blobs dropped
    for region in everything.regions:  # each label picks out its own pixels
        inside, (x0, y0) = everything.patch(region, 1, SHAPE)
        x, y, w, h = region.box
        assert inside.sum() == region.area and inside[y - y0, x - x0] == 1
