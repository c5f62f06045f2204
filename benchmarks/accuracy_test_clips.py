"""The test split of the accuracy benchmark: held out, never to be tuned on.

Why: a detector tuned until the development clips pass has learnt those clips; only clips it was
not fitted to say how it does on a new camera. Every nuisance and target category of the development
split has clips here, built the same way from the same footage, but with other seeds, other
pedestrians (other vtest.avi tracks), other paths, speeds, directions, positions and sizes, other
foliage crops and time ranges, and other nuisance parameters.

Look at the per-category and total figures of this split, not at its clips one by one: the moment a
change is made because of what one of these clips does, the split stops being a test.
"""

from __future__ import annotations

from accuracy_scene import (
    Clip,
    CloudShadows,
    DappledShadow,
    Flyer,
    Knock,
    Pan,
    RainStyle,
    Snow,
    Sweep,
    TreeFoliage,
    Walker,
    constant,
    jitter,
    pumping,
    ramp,
    shake_bursts,
    steps,
    sway,
)

# Paths of the feet (u, v in units of the world's width; see accuracy_scene.py), none shared with dev
UPPER_PATH = [(0.02, 0.185), (0.20, 0.152), (0.42, 0.10), (0.50, 0.03)]
UPPER_PATH_DOWN = [(0.50, 0.03), (0.42, 0.10), (0.20, 0.152), (0.02, 0.185)]
CARPARK = [(-0.03, 0.215), (0.20, 0.205), (0.42, 0.19), (0.62, 0.168), (0.80, 0.16), (1.04, 0.125)]
ROAD_DOWN = [(0.90, 0.03), (0.79, 0.15), (0.68, 0.24), (0.62, 0.33), (0.60, 0.45), (0.58, 0.86)]
LAWN_RL = [(1.04, 0.63), (0.72, 0.56), (0.42, 0.58), (-0.04, 0.66)]
LAWN_UP = [(0.29, 0.86), (0.34, 0.56), (0.44, 0.40), (0.56, 0.29), (0.70, 0.20), (0.80, 0.02)]
PLAZA_LR = [(-0.04, 0.31), (0.35, 0.335), (0.70, 0.40), (1.04, 0.37)]
PLAZA_RL = [(1.04, 0.42), (0.66, 0.37), (0.30, 0.33), (-0.04, 0.30)]
BOTTOM_RIGHT = [(0.61, 0.86), (0.70, 0.62), (0.86, 0.55), (1.04, 0.52)]
LEFT_CORNER_UP = [(0.16, 0.86), (0.14, 0.55), (0.06, 0.45), (-0.04, 0.42)]
LOITER_FROM_RIGHT = [(1.04, 0.47), (0.74, 0.44), (0.66, 0.45), (0.62, 0.55), (0.74, 0.86)]
CROWD_PATHS = [PLAZA_LR, LAWN_RL, ROAD_DOWN, CARPARK, PLAZA_RL, LAWN_UP, UPPER_PATH, PLAZA_LR]


def _vt(name: str, description: str, category: str, **kw) -> Clip:
    """A 768x576 test clip (the size of vtest.avi)."""
    return Clip(name, description, category, split="test", width=768, height=576, noise_bank=16, **kw)


def _large(name: str, description: str, category: str, **kw) -> Clip:
    """A 1920x1080 test clip: a distant person there is under two pixels wide at the analysis width."""
    return Clip(name, description, category, split="test", width=1920, height=1080, noise_bank=4, **kw)


def clips() -> list[Clip]:
    """The test split, in a fixed order."""
    return [
        # noise
        _vt("quiet_noise", "Empty scene, sensor noise sigma 4.5. No events.", "noise", fps=12.5, seconds=14,
            seed=101, noise=4.5),
        _vt("low_light_noise", "Very dark scene (gain 0.18, gamma 1.3), noise sigma 10. No events.", "noise",
            fps=10, seconds=15, seed=102, noise=10.0, light=constant(0.18, 1.3)),
        # slow light
        _vt("dawn_brightening", "Brightness rises from 35% to 100% over 1-18 s (dawn, clouds clearing). No events.",
            "dimming", fps=10, seconds=20, seed=103, light=ramp(1, 18, 0.35, 1.0)),
        _vt("walker_dusk_fall", "Brightness falls from 90% to 40% (gamma 1.1) over 24 s; a person (~0.4%) crosses "
            "the lower lawn from the right at 1.3 px/frame.", "dimming", fps=12, seconds=24, seed=104,
            light=ramp(0, 24, 0.9, 0.4, 1.1), walkers=[Walker(0, 40, LAWN_RL, 1.3, 0.004)]),
        # sudden light
        _vt("light_flicker", "A lamp lit at 50% flickers on at 4 s (three quick toggles within half a second) and "
            "goes off at 10 s. No motion.", "light_switch", fps=15, seconds=14, seed=105,
            light=steps([(60 / 15, 1.0, 1.0), (62 / 15, 0.5, 1.0), (64 / 15, 1.0, 1.0), (66 / 15, 0.5, 1.0),
                         (69 / 15, 1.0, 1.0), (150 / 15, 0.5, 1.0)], 0.5),
            lighting=[(60, 69), 150]),
        _vt("ir_switch", "At 6 s the camera switches to its grey infrared mode (gain 0.75, gamma 0.85) and back to "
            "colour at 12 s. No motion.", "light_switch", fps=10, seconds=16, seed=106,
            light=steps([(6.0, 0.75, 0.85), (12.0, 1.0, 1.0)], 1.0), mono=[(6.0, 12.0)], lighting=[60, 120]),
        # shake
        _vt("shake_gusts", "The camera jumps by up to 5 px every frame in three gusts (2-3.5 s, 6-8.5 s, 11-12 s). "
            "No events.", "shake", fps=15, seconds=14, seed=107,
            shake=shake_bursts([(2, 3.5), (6, 8.5), (11, 12)], 5.0)),
        _vt("pole_sway", "The camera's pole sways smoothly (2.5 px, 1.6 s period) with 0.5 px of jitter. No events.",
            "shake", fps=12.5, seconds=12, seed=108, shake=sway(2.5, 1.6, 0.5)),
        _vt("walker_jitter", "Jitter of up to 2 px every frame throughout; a person (~0.5%) comes down the road "
            "from the top right at 1.8 px/frame.", "shake", fps=10, seconds=22, seed=109, shake=jitter(2.0),
            walkers=[Walker(1, 30, ROAD_DOWN, 1.8, 0.005)]),
        # rain
        _vt("rain", "Heavy rain slanting left: ~500 longer, dimmer streaks per frame, 2-5 large drops near the "
            "lens. No events.", "rain", fps=12.5, seconds=12, seed=110,
            rain=RainStyle(500, slant=-0.3, length=(8, 18), brightness=(30, 80), big=(2, 5))),
        _vt("walker_rain", "Rain falling almost straight (~280 streaks); a person (~0.6%) crosses the plaza from the "
            "left at 2.2 px/frame.", "rain", fps=10, seconds=22, seed=111,
            rain=RainStyle(280, slant=0.05, length=(10, 20), brightness=(45, 110), big=(0, 2)),
            walkers=[Walker(2, 25, PLAZA_LR, 2.2, 0.006)]),
        # storm
        _vt("storm_two_walkers", "Rain, a swaying pole and brightening (55% -> 90%) together; two people cross, "
            "one after the other.", "storm", fps=10, seconds=30, seed=112,
            rain=RainStyle(300, slant=-0.2), shake=sway(1.2, 2.0, 0.6), light=ramp(0, 30, 0.55, 0.9),
            walkers=[Walker(0, 15, LEFT_CORNER_UP, 2.4, 0.005), Walker(1, 190, PLAZA_RL, 2.6, 0.005)]),
        # foliage
        _vt("tree_foliage", "34 s of a real tree swaying (tree.avi frames 16-50, another part of the crown) on the "
            "right lawn, about 11% of the picture. No events.", "foliage", fps=10, seconds=34, seed=113,
            tree=TreeFoliage((0.66, 0.42, 0.95, 0.97), (170, 40, 320, 240), (16, 50))),
        _vt("tree_foliage_walker", "A real swaying tree at the top left for 32 s; a person (~0.4%) crosses the lower "
            "lawn from the right.", "foliage", fps=10, seconds=32, seed=114,
            tree=TreeFoliage((0.07, 0.08, 0.30, 0.50), (110, 30, 290, 200), (20, 50)),
            walkers=[Walker(2, 50, LAWN_RL, 1.6, 0.004)]),
        # walkers
        _vt("slow_walker", "A person (~0.4%) walks onto the lower lawn from the right at 0.5 px/frame from 3 s and "
            "is still walking at the end.", "walker", fps=10, seconds=24, seed=115,
            walkers=[Walker(1, 30, LAWN_RL, 0.5, 0.004)]),
        _vt("distant_walker", "A distant person (~0.25%) walks along the car park from the left at 1.2 px/frame.",
            "walker", fps=12.5, seconds=22, seed=116, walkers=[Walker(0, 25, CARPARK, 1.2, 0.0025)]),
        # small people by day, dusk and night
        _vt("small_person_day", "A distant person (~0.07%) walks up the footpath on the upper lawn at 1.1 px/frame.",
            "small_day", fps=10, seconds=40, seed=117, walkers=[Walker(2, 45, UPPER_PATH, 1.1, 0.0007)]),
        _vt("small_person_dusk", "Dusk (gain 0.45, gamma 1.2, bluish, noise sigma 5.5); a distant person (~0.05%) "
            "comes down the road at 0.9 px/frame.", "small_dusk", fps=10, seconds=40, seed=118, noise=5.5,
            light=constant(0.45, 1.2), tint=(1.1, 0.93, 0.8), walkers=[Walker(0, 40, ROAD_DOWN, 0.9, 0.0005)]),
        _vt("small_person_night", "Night (30% brightness, noise sigma 8); a distant person (~0.09%) walks down the "
            "upper footpath at 1 px/frame.", "small_night", fps=10, seconds=40, seed=119, noise=8.0,
            light=constant(0.3), walkers=[Walker(1, 30, UPPER_PATH_DOWN, 1.0, 0.0009)]),
        # local light
        _vt("cloud_shadows", "Large soft cloud shadows (~340 px, 40% darker, wide edges) drift diagonally at "
            "1 px/frame. No events.", "cloud_shadows", fps=10, seconds=30, seed=120,
            clouds=CloudShadows(340, 0.4, (-0.8, 0.6), coverage=0.5, softness=0.5)),
        _vt("edge_shadow", "A tree's dappled shadow (tree.avi's leaves, another crop) moves in the wind along the "
            "bottom edge. No events.", "edge_shadow", fps=10, seconds=30, seed=121,
            dapple=DappledShadow((0.0, 0.74, 0.85, 1.0), (100, 40, 320, 240), (18, 50), depth=0.5, sway=8.0,
                                 period=6.5, fade="bottom")),
        _vt("headlights", "Night (28% brightness, noise sigma 7); four headlight sweeps from different sides. "
            "No events.", "headlights", fps=10, seconds=30, seed=122, noise=7.0, light=constant(0.28),
            headlights=[Sweep(3.0, 2.5, (1.08, 0.6), (185, 230), spread=14, reach=0.8, strength=2.4),
                        Sweep(9.0, 4.0, (0.2, -0.1), (60, 110), spread=9),
                        Sweep(17.0, 3.0, (-0.1, 0.8), (-40, 10), strength=1.6),
                        Sweep(24.0, 3.5, (0.9, 1.1), (-100, -150), spread=11, reach=0.5)]),
        # snow
        _vt("snow", "Dense snow (~1400 flakes, wind to the left) with four large defocused flakes near the lens. "
            "No events.", "snow", fps=10, seconds=20, seed=123, light=constant(0.85),
            snow=Snow(1400, size=(0.6, 2.8), fall=(0.8, 2.8), wind=-0.5, near=4, near_size=(18, 40))),
        _vt("snow_walker", "Snow (~1000 flakes); a person (~0.5%) crosses the plaza from the right at 1.4 px/frame.",
            "snow", fps=10, seconds=24, seed=124, light=constant(0.85),
            snow=Snow(1000, fall=(0.5, 1.8), wind=0.2, near=2), walkers=[Walker(0, 30, PLAZA_RL, 1.4, 0.005)]),
        # exposure
        _vt("exposure_walker", "Auto-exposure hunting (gain 0.65-1.3, a new level every 1.8-3.5 s, eased over "
            "0.5 s); a person (~0.45%) crosses the lower lawn at 1 px/frame.", "exposure", fps=10, seconds=25,
            seed=125, light=pumping(125, 25, 0.65, 1.3, (1.8, 3.5), 0.5),
            walkers=[Walker(1, 40, LAWN_RL, 1.0, 0.0045)]),
        # loiterer
        _vt("loiterer", "A person (~0.45%) walks in from the right, stands still for 21 s and walks out toward the "
            "bottom. One event.", "loiterer", fps=10, seconds=56, seed=126,
            walkers=[Walker(2, 25, LOITER_FROM_RIGHT, 2.0, 0.0045, stand=(130, 210))]),
        # birds and insects
        _vt("birds", "Four birds cross in 2-3 frames and an insect flashes past the lens. No events.", "birds",
            fps=12.5, seconds=16, seed=127,
            flyers=[Flyer(30, 3, (1.05, 0.12), (-0.05, 0.3), 14), Flyer(70, 2, (0.1, -0.05), (0.7, 1.05), 110,
                                                                       "insect"),
                    Flyer(110, 3, (-0.05, 0.55), (1.05, 0.4), 16), Flyer(150, 2, (0.5, -0.05), (1.05, 0.5), 11),
                    Flyer(175, 3, (1.05, 0.9), (-0.05, 0.6), 13)]),
        # camera moves
        _vt("slow_pan", "The camera pans slowly left and a little down (22% of the width over 16 s) and stops. "
            "No motion; a scene_change may be reported while it pans, but need not be.", "slow_pan", fps=10,
            seconds=25, seed=128, margin=1.45, pan=Pan(4.0, 20.0, (-0.22, 0.05)), allow_scene_change=[(40, 249)]),
        _vt("hard_cuts", "Cuts to scenes of Megamind.avi and back: at frames 70, 120 and 170. Three scene_change "
            "events.", "cut", fps=15, seconds=14, seed=129, cuts=[70, 120, 170],
            cut_scenes=["megamind_60", "plate", "megamind_170"]),
        _vt("camera_knocked", "The camera is knocked at frame 95: over 4 frames it moves by -6% x 5% of the picture "
            "and tilts -1.5 degrees, and stays there. One scene_change.", "knocked", fps=15, seconds=12, seed=130,
            knock=Knock(95, 4, (-0.06, 0.05), -1.5)),
        # several people
        _vt("two_walkers", "Two people (~0.45%) cross one after the other, several seconds apart. Two events.",
            "two_walkers", fps=10, seconds=36, seed=131,
            walkers=[Walker(2, 15, BOTTOM_RIGHT, 2.4, 0.0045), Walker(0, 200, LEFT_CORNER_UP, 2.0, 0.0045)]),
        _vt("crowd", "A crowd at 5 fps: eight people (~0.3-0.6%) on different paths, overlapping in time.", "crowd",
            fps=5, seconds=40, seed=132,
            walkers=[Walker(k % 3, 3 + 11 * k, path, 8.0 + 1.2 * k, 0.003 + 0.0004 * k)
                     for k, path in enumerate(CROWD_PATHS)]),
        # added with the mechanisms that follow exposure changes, judge a region on its core and keep a
        # clutter map: more of the nuisances they target, built before those mechanisms were measured here
        _vt("edge_shadow_right", "A tree's dappled shadow (another crop) along the right edge, sharper and "
            "faster. No events.", "edge_shadow", fps=12, seconds=30, seed=141,
            dapple=DappledShadow((0.6, 0.0, 1.0, 0.9), (0, 0, 220, 180), (5, 40), depth=0.55, sway=7.0, period=4.5,
                                 fade="right")),
        _vt("edge_shadow_walker", "A dappled shadow along the bottom edge; a person (~0.4%) crosses the lower lawn "
            "through it at 1.3 px/frame.", "edge_shadow", fps=10, seconds=30, seed=142,
            dapple=DappledShadow((0.0, 0.7, 1.0, 1.0), (110, 20, 310, 200), (20, 50), depth=0.5, sway=6.0,
                                 period=5.0, fade="bottom"), walkers=[Walker(2, 40, LAWN_RL, 1.3, 0.004)]),
        _vt("exposure_slow_walker", "Auto-exposure hunting (gain 0.7-1.3, a new level every 2-4 s, eased over "
            "0.7 s); a small person (~0.2%) crosses the car park at 0.9 px/frame.", "exposure", fps=12, seconds=30,
            seed=143, light=pumping(143, 30, 0.7, 1.3, (2.0, 4.0), 0.7), walkers=[Walker(0, 50, CARPARK, 0.9, 0.002)]),
        _vt("exposure_fast_hunting", "Fast auto-exposure hunting (gain 0.6-1.35, a new level every 1.2-2.5 s, "
            "eased over 0.3 s); a person (~0.4%) crosses the plaza at 1.3 px/frame.", "exposure", fps=10,
            seconds=25, seed=144, light=pumping(144, 25, 0.6, 1.35, (1.2, 2.5), 0.3),
            walkers=[Walker(2, 30, PLAZA_LR, 1.3, 0.004)]),
        _vt("snow_near_slow", "Snow (~900 flakes) whose four large defocused flakes near the lens drift slowly. "
            "No events.", "snow", fps=10, seconds=25, seed=145, light=constant(0.9),
            snow=Snow(900, wind=0.4, near=4, near_speed=(3.0, 7.0), near_size=(16.0, 36.0))),
        _vt("snow_walker_road", "Snow (~800 flakes, slow near-lens flakes); a person (~0.4%) walks down the road "
            "at 1.2 px/frame.", "snow", fps=12, seconds=25, seed=146, light=constant(0.85),
            snow=Snow(800, wind=-0.3, near=3, near_speed=(4.0, 9.0)), walkers=[Walker(1, 40, ROAD_DOWN, 1.2, 0.004)]),
        # added with the fine pass (a finer look where a large picture's analysis copy is too coarse for
        # min_size): distant people in 1080p pictures, and the small changes a finer look sees there
        _large("large_person_day", "1080p; a distant person (~0.012%, about 11x28 px) crosses the plaza from the "
               "right at 1.6 px/frame.", "small_1080p", fps=10, seconds=36, seed=151,
               walkers=[Walker(2, 40, PLAZA_RL, 1.6, 0.00012)]),
        _large("large_person_night", "1080p at night (30% brightness, noise sigma 7); a distant person (~0.015%) "
               "walks up the upper footpath at 1.8 px/frame.", "small_1080p", fps=10, seconds=36, seed=152,
               noise=7.0, light=constant(0.3), walkers=[Walker(0, 30, UPPER_PATH, 1.8, 0.00015)]),
        _large("large_person_dusk", "1080p at dusk (gain 0.45, gamma 1.2, bluish, noise sigma 5.5); a distant "
               "person (~0.01%) crosses the car park from the left at 1.4 px/frame.", "small_1080p", fps=12, seconds=36,
               seed=153, noise=5.5, light=constant(0.45, 1.2), tint=(1.1, 0.93, 0.8),
               walkers=[Walker(1, 50, CARPARK, 1.4, 0.0001)]),
        _large("large_snow", "1080p; fine snow (~1400 flakes per 768x576) and two defocused flakes near the lens. "
               "No events.", "snow", fps=10, seconds=24, seed=154, light=constant(0.85),
               snow=Snow(1400, size=(0.6, 1.6), wind=0.3, near=2)),
        _large("large_night_noise", "1080p at night (25% brightness, noise sigma 9), nobody there. No events.",
               "noise", fps=10, seconds=24, seed=155, noise=9.0, light=constant(0.25)),
        _large("large_tree", "1080p; real swaying foliage (tree.avi, another crop and time) fills the left of the "
               "picture. No events.", "foliage", fps=10, seconds=30, seed=156,
               tree=TreeFoliage((0.02, 0.15, 0.34, 0.95), (140, 20, 320, 230), (30, 60))),
    ]
