"""Settings of the object stage (YAML section ``objects``): the one home of their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from vidwatch.params import param

OBJECTS = "objects"
"""The object stage's score: its name in the gate, the records, the scores CSV and events' detectors."""
MOTION_RULE: dict[str, object] = {"detectors": (OBJECTS,), "fusion": "any", "min_frames": 1}
"""The motion rule while the object stage runs: a thing that travels is motion (its confirmation
already took ``min_age`` seconds, so one frame over the threshold is enough)."""


@dataclass(frozen=True, slots=True)
class ObjectParams:
    """How foreground regions become tracked objects and evidence of motion."""

    enabled: bool = param(True, "track the foreground of the background model (detector type background) and "
                          "decide motion on things that travel; false, or a config without a background "
                          "detector, leaves motion to the detectors' own scores")
    threshold: float = param(1.0, "travel, in object sizes, a thing-like track must show before it counts as "
                             "motion", min=0.0, max=100.0)
    min_size: tuple[int, ...] = param((10, 24), "smallest object to find, [width, height] in source pixels "
                                      "(a person 12x32 px far away is found with the default)")
    fine: bool = param(True, "on a picture too large for min_size at analysis.width, look again at a finer scale "
                       "where the analysis copy sees a faint change that lasts, and confirm small things there "
                       "(costs little: a strip of a finer background model every other frame, and the places "
                       "looked at)")
    min_age: float = param(1.0, "seconds a track must live before it counts: birds, insects and flakes near the "
                           "lens cross the picture faster", min=0.0, max=60.0)
    window: float = param(4.0, "seconds of a track's history its travel and straightness are measured over",
                          min=0.5, max=60.0)
    min_straightness: float = param(0.6, "net displacement over path length a track needs (1 = a straight "
                                    "line); foliage and water go back and forth", min=0.0, max=1.0)
    max_step: float = param(0.5, "largest step per frame, in object sizes, of a real thing: a flake or an "
                            "insect near the lens crosses its own size each frame", min=0.01, max=10.0)
    light_texture: float = param(0.6, "gradient correlation with the background above which a region is "
                                 "light on a surface (texture kept), not a thing", min=-1.0, max=1.0)
    max_light: float = param(0.25, "share of a track's observations that may look like light (texture kept, soft "
                             "edges) for it to become a thing; people measure under 0.15. A thing is unmade only "
                             "when most of them look like light: of its last window, or of its whole life while "
                             "it still travels and moves (a person passing behind a railing)", min=0.0, max=1.0)
    min_sharpness: float = param(0.55, "how abruptly a region's change must stop at its border (people "
                                 "measure 0.65-0.9, a soft shadow or a defocused flake near the lens under "
                                 "0.5); softer regions are light",
                                 min=0.0, max=10.0)
    hold: float = param(60.0, "seconds a thing that stopped (a loiterer, a parked car) is kept out of the "
                        "background model, so it stays in view; after that the scene takes it in", min=0.0,
                        max=86400.0)
    max_missed: float = param(0.5, "seconds a track is kept without a matching region (a gap in the mask) "
                              "before it ends", min=0.0, max=60.0)
    coast: float = param(2.0, "seconds a confirmed thing is kept without a matching region, predicted along "
                         "its path, so passing behind something (or a flake in front of it) does not end it",
                         min=0.0, max=60.0)
    gate: float = param(1.0, "farthest a region may lie from where a track is predicted, in object sizes, "
                        "to continue it", min=0.1, max=10.0)
    max_regions: int = param(48, "regions tracked per frame at most (the largest)", min=1, max=1000)

    def __post_init__(self) -> None:
        if len(self.min_size) != 2 or min(self.min_size) < 1:
            raise ValueError(f"min_size must be [width, height] in pixels, got {list(self.min_size)}")
