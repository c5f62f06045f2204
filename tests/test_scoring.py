"""Scoring detectors side by side on two threads gives exactly the scores of scoring them in turn."""

from __future__ import annotations

import threading

from vidwatch.config import build_config
from vidwatch.detectors import REGISTRY
from vidwatch.preprocess import Preprocessor
from vidwatch.scoring import DetectorRunner
from vidwatch.sources import open_source


def test_parallel_scores_equal_sequential_scores(samples):
    config = build_config({"detectors": {name: {} for name in REGISTRY}})  # every detector, not just the defaults
    runners = [DetectorRunner({n: s.create() for n, s in config.detectors.items()}, parallel=p)
               for p in (False, True)]
    preprocess = Preprocessor(config.analysis)
    fired = 0
    with open_source(str(samples / "walk_and_cut.mp4"), config.source) as source:
        for frame in source:
            analysis = preprocess(frame)
            one, two = (runner(analysis) for runner in runners)
            assert list(one) == list(two) == list(config.detectors)
            for name in one:
                assert one[name].value == two[name].value
                assert one[name].metrics == two[name].metrics
                assert one[name].box == two[name].box
            fired += one["flow"].value > config.detectors["flow"].threshold
    assert fired > 50  # the clip has two objects walking through: the scores are not all quiet
    for runner in runners:
        runner.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("detector")]
