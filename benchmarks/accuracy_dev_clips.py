"""The development split of the accuracy benchmark: the clips detection may be tuned on.

Why a split: defaults fitted to the clips they are measured on say nothing about footage they have
not seen. Tune on these; judge on the test split (``accuracy_test_clips.py``), whose clips differ
from these in seeds, pedestrians (other vtest.avi tracks), paths, speeds, directions, positions,
sizes, foliage crops and time ranges, and nuisance parameters.

The first 17 clips are the benchmark's original suite (480x360, 640x480), unchanged. The others are
768x576 like vtest.avi and add the nuisances and targets that suite lacked.
"""

from __future__ import annotations

from accuracy_scene import (
    Clip,
    CloudShadows,
    DappledShadow,
    Flyer,
    Foliage,
    Knock,
    Pan,
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
)

# Paths of the feet (u, v in units of the world's width; see accuracy_scene.py)
PAVEMENT_LR = [(-0.04, 0.39), (0.45, 0.47), (0.75, 0.62), (1.05, 0.80)]
PAVEMENT_RL = [(1.05, 0.55), (0.62, 0.47), (0.30, 0.42), (-0.05, 0.38)]
CORNER_LB = [(-0.04, 0.40), (0.18, 0.55), (0.26, 1.20)]
CORNER_RT = [(1.05, 0.60), (0.80, 0.45), (0.78, 0.20), (0.82, 0.02)]
FAR_ROAD = [(1.04, 0.24), (0.80, 0.26), (0.45, 0.25), (0.10, 0.22)]
FAR_ROAD_OUT = [*FAR_ROAD, (-0.04, 0.215)]
FAR_ROAD_LR = [(-0.04, 0.235), (0.40, 0.25), (0.75, 0.26), (1.04, 0.245)]
UPPER_LAWN = [(0.47, 0.03), (0.33, 0.10), (0.18, 0.135), (-0.04, 0.16)]
LOITER_IN_OUT = [(-0.04, 0.50), (0.30, 0.52), (0.34, 0.53), (0.40, 0.62), (0.47, 0.86)]
CROWD_PATHS = [PAVEMENT_LR, PAVEMENT_RL, CORNER_RT, FAR_ROAD_OUT, CORNER_LB, FAR_ROAD_LR, PAVEMENT_RL]


def _vt(name: str, description: str, category: str, **kw) -> Clip:
    """A 768x576 development clip (the size of vtest.avi)."""
    return Clip(name, description, category, split="dev", width=768, height=576, noise_bank=16, **kw)


def original() -> list[Clip]:
    """The original 17 clips, unchanged (their renders are byte-identical to the first suite's)."""
    return [
        Clip("quiet_noise", "Empty scene, sensor noise only (sigma 3). Any event is false.",
             fps=20, seconds=12, seed=1, noise=3.0, category="noise"),
        Clip("slow_dimming", "Empty scene; global brightness falls from 100% to 35% between 2 s and 14 s "
             "(clouds, dusk). No events.", fps=20, seconds=16, seed=2, light=ramp(2, 14, 1.0, 0.35),
             category="dimming"),
        Clip("light_switch", "Empty scene lit at 45%; a light switches on at frame 75 (gain 0.45 -> 1.0) and off "
             "at frame 150. No motion; the switches are listed under 'lighting'.", fps=15, seconds=14, seed=3,
             light=steps([(5.0, 1.0, 1.0), (10.0, 0.45, 1.0)], 0.45), lighting=[75, 150],
             category="light_switch"),
        Clip("light_switch_gamma", "Empty scene; at frame 100 exposure jumps down with a gamma change (gain 1.0 -> "
             "0.6, gamma 1.0 -> 1.3, as auto-exposure or an IR switch does) and back at frame 200. No motion.",
             fps=25, seconds=12, seed=4, light=steps([(4.0, 0.6, 1.3), (8.0, 1.0, 1.0)], 1.0),
             lighting=[100, 200], category="light_switch"),
        Clip("shake_bursts", "Empty scene; the camera shakes on its pole in three gusts (random jumps of up to "
             "4 px every frame at 3-5 s, 8-9 s and 12-13.5 s). No events.", fps=20, seconds=15, seed=5,
             shake=shake_bursts([(3, 5), (8, 9), (12, 13.5)], 4.0), category="shake"),
        Clip("shake_jitter", "Empty scene; sustained camera jitter of up to 1.5 px in x and y every frame. "
             "No events.", fps=25, seconds=12, seed=6, shake=jitter(1.5), category="shake"),
        Clip("rain", "Empty scene in heavy rain: ~350 thin bright streaks per frame and a few large blurred "
             "drops near the lens. No events.", fps=20, seconds=12, seed=7, rain=350, category="rain"),
        Clip("swaying_foliage", "Empty scene with a leafy crown (real tree texture) on the grass, about 8% of the "
             "picture, swaying up to ~4 px with a 2.2 s period plus leaf flutter. No events.", fps=15, seconds=16,
             seed=8, foliage=Foliage((0.06, 0.50, 0.34, 0.92), 3.5, 2.2), category="foliage"),
        Clip("low_light_noise", "Dark scene (gain 0.22, gamma 1.2) with heavy sensor noise (sigma 13) and H.264 "
             "compression. No events.", fps=15, seconds=12, seed=9, noise=13.0,
             light=constant(0.22, 1.2), category="noise"),
        Clip("slow_walker", "A small person (~0.5% of the picture) enters from the left at 3 s, walks at 0.6 px/frame "
             "and is still walking slowly when the clip ends.", fps=20, seconds=18, seed=10,
             walkers=[Walker(0, 60, PAVEMENT_LR, 0.6, 0.006)], category="walker"),
        Clip("distant_walker", "A distant person (~0.3% of a 640x480 picture) walks in from the right along the "
             "far road at 2 s, walks at 1 px/frame and is still walking at the end.", width=640, height=480, fps=20,
             seconds=16, seed=11, walkers=[Walker(1, 40, FAR_ROAD, 1.0, 0.003)], category="walker"),
        Clip("walker_shake", "Sustained camera jitter (up to 1.5 px) throughout; a person (~0.7%) enters from the "
             "left at 3 s, walks at 2 px/frame and leaves at the bottom; then jitter only.", fps=15, seconds=20,
             seed=12, shake=jitter(1.5), walkers=[Walker(0, 45, CORNER_LB, 2.0, 0.007)], category="shake"),
        Clip("walker_rain", "Heavy rain throughout; a person (~0.6%) enters from the right at 3 s, walks at "
             "2 px/frame and leaves at the top of the picture.", fps=15, seconds=20, seed=13, rain=350,
             walkers=[Walker(2, 45, CORNER_RT, 2.0, 0.007)], category="rain"),
        Clip("walker_dimming", "Brightness falls from 100% to 35% over 2-18 s; a small person (~0.5%) enters from "
             "the left at 0.9 px/frame at 4 s and is still walking at the end.", fps=15, seconds=20, seed=14,
             light=ramp(2, 18, 1.0, 0.35), walkers=[Walker(0, 60, PAVEMENT_LR, 0.9, 0.005)], category="dimming"),
        Clip("storm_two_walkers", "Rain, camera jitter (1 px) and dimming (100% -> 60%) together; two people "
             "(~0.7%) cross one after the other.", fps=15, seconds=24, seed=15, rain=250, shake=jitter(1.0),
             light=ramp(0, 24, 1.0, 0.6),
             walkers=[Walker(2, 20, CORNER_LB, 2.2, 0.007), Walker(0, 200, CORNER_RT, 2.2, 0.007)], category="storm"),
        Clip("hard_cut", "Hard cut from the empty plaza to another scene (building.jpg) at frame 100 and back at "
             "frame 180. Truth: two scene_change events.", fps=20, seconds=12, seed=16, cuts=[100, 180],
             category="cut"),
        Clip("camera_knocked", "The camera is knocked at frame 110: over 3 frames it moves by 8% x 6% of the "
             "picture and tilts 2 degrees, and stays there. Truth: one scene_change, no motion.", fps=20,
             seconds=12, seed=17, knock=Knock(110, 3, (0.08, -0.06), 2.0), category="knocked"),
    ]


def added() -> list[Clip]:
    """The nuisances and targets the original suite lacked, at 768x576."""
    return [
        _vt("small_person_day", "A distant person (~0.08% of the picture) walks along the far road from the right "
            "at 1 px/frame from 4 s and is still walking at the end.", "small_day", fps=10, seconds=40, seed=31,
            walkers=[Walker(0, 40, FAR_ROAD_OUT, 1.0, 0.0008)]),
        _vt("small_person_dusk", "Dusk (gain 0.5, gamma 1.15, bluish, noise sigma 5); a distant person (~0.06%) "
            "crosses the far road from the left at 1.1 px/frame.", "small_dusk", fps=10, seconds=40, seed=32,
            noise=5.0, light=constant(0.5, 1.15), tint=(1.08, 0.96, 0.82),
            walkers=[Walker(1, 30, FAR_ROAD_LR, 1.1, 0.0006)]),
        _vt("small_person_night", "Night (30% brightness, noise sigma 8); a distant person (~0.1%) walks down the "
            "upper lawn at 0.9 px/frame.", "small_night", fps=10, seconds=40, seed=33, noise=8.0,
            light=constant(0.3), walkers=[Walker(2, 35, UPPER_LAWN, 0.9, 0.001)]),
        _vt("tree_foliage", "32 s of a real tree swaying in the wind (tree.avi frames 0-34, played back and forth) "
            "on the left lawn, about 9% of the picture. No events.", "foliage", fps=10, seconds=32, seed=34,
            tree=TreeFoliage((0.04, 0.50, 0.30, 0.97), (50, 0, 230, 200), (0, 34))),
        _vt("tree_foliage_walker", "A real swaying tree on the left lawn for 32 s; a person (~0.4%) walks along the "
            "plaza from the right, well away from it.", "foliage", fps=10, seconds=32, seed=35,
            tree=TreeFoliage((0.05, 0.55, 0.28, 0.98), (60, 20, 240, 220), (4, 38)),
            walkers=[Walker(0, 60, PAVEMENT_RL, 1.5, 0.004)]),
        _vt("cloud_shadows", "Soft cloud shadows (~260 px, 30% darker) drift across the whole scene at 1.2 px/frame. "
            "No events.", "cloud_shadows", fps=10, seconds=30, seed=36,
            clouds=CloudShadows(260, 0.3, (1.2, 0.3))),
        _vt("edge_shadow", "The dappled shadow of a tree outside the picture (tree.avi's leaves as the shadow mask) "
            "moves in the wind along the left edge. No events.", "edge_shadow", fps=10, seconds=30, seed=37,
            dapple=DappledShadow((0.0, 0.3, 0.3, 1.0), (40, 0, 240, 200), (0, 34), fade="left")),
        _vt("headlights", "Night (30% brightness, noise sigma 8); three cars' headlight cones sweep the ground from "
            "outside the picture. No events.", "headlights", fps=10, seconds=30, seed=38, noise=8.0,
            light=constant(0.3),
            headlights=[Sweep(4.0, 3.0, (-0.05, 0.35), (-25, 35)), Sweep(13.0, 4.0, (1.05, 0.25), (200, 140)),
                        Sweep(22.0, 3.0, (0.5, 1.15), (-130, -60), spread=10, reach=0.7)]),
        _vt("snow", "Snow: ~900 flakes drifting down and persisting across frames, a few large defocused flakes "
            "near the lens. No events.", "snow", fps=10, seconds=20, seed=39, light=constant(0.9),
            snow=Snow(900)),
        _vt("snow_walker", "Snow as in 'snow' (~700 flakes); a person (~0.5%) walks in from the right at 1.5 "
            "px/frame and leaves at the top.", "snow", fps=10, seconds=24, seed=40, light=constant(0.9),
            snow=Snow(700, wind=0.5), walkers=[Walker(1, 40, CORNER_RT, 1.5, 0.005)]),
        _vt("exposure_walker", "Auto-exposure hunting (gain 0.7-1.25, a new level every 2.5-4.5 s, eased over "
            "0.8 s); a person (~0.4%) crosses the plaza from the left at 1.2 px/frame.", "exposure", fps=10,
            seconds=25, seed=41, light=pumping(41, 25, 0.7, 1.25, (2.5, 4.5), 0.8),
            walkers=[Walker(2, 50, PAVEMENT_LR, 1.2, 0.004)]),
        _vt("loiterer", "A person (~0.5%) walks in from the left, stands still on the lawn for 20 s and walks "
            "out at the bottom. One event.", "loiterer", fps=10, seconds=54, seed=42,
            walkers=[Walker(0, 30, LOITER_IN_OUT, 2.0, 0.005, stand=(150, 200))]),
        _vt("birds", "Three birds cross the picture in 3 frames each and two insects flash past the lens in 3 "
            "frames. No events.", "birds", fps=15, seconds=15, seed=43,
            flyers=[Flyer(40, 3, (-0.05, 0.3), (1.05, 0.18), 12), Flyer(95, 3, (1.05, 0.5), (-0.05, 0.35), 10),
                    Flyer(130, 2, (0.3, -0.05), (0.9, 0.6), 90, "insect"), Flyer(160, 3, (0.2, 1.05), (0.6, -0.05), 14),
                    Flyer(200, 3, (1.05, 0.8), (0.1, -0.05), 120, "insect")]),
        _vt("slow_pan", "The camera pans slowly (25% of the picture width over 14 s) and stops. No motion; a "
            "scene_change may be reported while it pans, but need not be.", "slow_pan", fps=10, seconds=25, seed=44,
            margin=1.45, pan=Pan(5.0, 19.0, (0.25, 0.03)), allow_scene_change=[(50, 249)]),
        _vt("two_walkers", "Two people (~0.5%) cross one after the other, several seconds apart. Two events.",
            "two_walkers", fps=10, seconds=36, seed=45,
            walkers=[Walker(0, 20, CORNER_LB, 2.2, 0.005), Walker(1, 250, CORNER_RT, 2.0, 0.005)]),
        _vt("crowd", "A crowd at 5 fps: seven people (~0.4-0.6%) cross on different paths, overlapping in time.",
            "crowd", fps=5, seconds=40, seed=46,
            walkers=[Walker(k % 3, 4 + 14 * k, path, 9.0 + k, 0.004 + 0.0003 * k)
                     for k, path in enumerate(CROWD_PATHS)]),
    ]


def variants() -> list[Clip]:
    """More clips of the nuisances and targets the defaults still got wrong: variants of the edge
    shadow, exposure hunting and snow clips (other seeds, sides, speeds and sizes), and walkers early,
    fast, big, slow and far, in a corner. The mechanisms added for them were tuned on these."""
    return [
        _vt("x_edge_right", "Dappled shadow along the right edge. No events.", "edge_shadow", fps=10, seconds=30,
            seed=301, dapple=DappledShadow((0.7, 0.0, 1.0, 0.8), (60, 10, 260, 210), (10, 44), depth=0.55, sway=9.0,
                                           period=3.5, fade="right")),
        _vt("x_edge_top", "Dappled shadow along the top edge. No events.", "edge_shadow", fps=12, seconds=30,
            seed=302, dapple=DappledShadow((0.0, 0.0, 0.8, 0.3), (30, 0, 230, 200), (5, 40), depth=0.5, sway=7.0,
                                           period=4.0, fade="top")),
        _vt("x_edge_left_deep", "A deep dappled shadow along the left edge, dim light. No events.", "edge_shadow",
            fps=10, seconds=30, seed=303, light=constant(0.8),
            dapple=DappledShadow((0.0, 0.2, 0.35, 1.0), (50, 20, 250, 220), (20, 50), depth=0.65, sway=5.0,
                                 period=6.0, fade="left")),
        _vt("y_edge_bottom", "Dappled shadow along the bottom edge. No events.", "edge_shadow", fps=10, seconds=30,
            seed=221, dapple=DappledShadow((0.0, 0.65, 1.0, 1.0), (40, 30, 240, 230), (15, 45), depth=0.5,
                                           sway=8.0, period=4.5, fade="bottom")),
        _vt("y_edge_left", "Dappled shadow over the left half. No events.", "edge_shadow", fps=12, seconds=30,
            seed=222, dapple=DappledShadow((0.0, 0.0, 0.45, 1.0), (70, 0, 270, 200), (0, 35), depth=0.6, sway=6.0,
                                           period=5.0, fade="left")),
        _vt("x_exposure_fast", "Fast exposure hunting; a person crosses.", "exposure", fps=10, seconds=25, seed=304,
            light=pumping(304, 25, 0.6, 1.35, (1.5, 3.0), 0.4), walkers=[Walker(1, 40, PAVEMENT_RL, 1.5, 0.004)]),
        _vt("x_exposure_small", "Exposure hunting; a small person far off.", "exposure", fps=15, seconds=25,
            seed=305, light=pumping(305, 25, 0.65, 1.3, (2.0, 4.0), 1.0),
            walkers=[Walker(3, 60, FAR_ROAD_LR, 1.0, 0.002)]),
        _vt("y_exp_a", "Exposure hunting; a person on the pavement.", "exposure", fps=10, seconds=30, seed=201,
            light=pumping(201, 30, 0.7, 1.3, (2.0, 4.0), 0.6), walkers=[Walker(0, 50, PAVEMENT_LR, 1.2, 0.004)]),
        _vt("y_exp_b", "Slow exposure hunting; a person from the left corner.", "exposure", fps=12, seconds=30,
            seed=202, light=pumping(202, 30, 0.75, 1.25, (2.5, 5.0), 0.9),
            walkers=[Walker(2, 40, CORNER_LB, 1.0, 0.004)]),
        _vt("y_exp_c", "Abrupt exposure hunting; a slow person.", "exposure", fps=10, seconds=30, seed=203,
            light=pumping(203, 30, 0.65, 1.35, (1.5, 3.5), 0.5), walkers=[Walker(4, 60, PAVEMENT_RL, 0.9, 0.003)]),
        _vt("y_exp_d", "Gentle exposure hunting; a person walking away up the picture.", "exposure", fps=15,
            seconds=30, seed=204, light=pumping(204, 30, 0.7, 1.2, (3.0, 5.0), 1.2),
            walkers=[Walker(1, 80, CORNER_RT, 1.3, 0.005)]),
        _vt("y_exp_e", "Exposure hunting; a small person on the upper lawn.", "exposure", fps=10, seconds=30,
            seed=205, light=pumping(205, 30, 0.7, 1.3, (2.0, 4.5), 0.8),
            walkers=[Walker(3, 30, UPPER_LAWN, 1.0, 0.003)]),
        _vt("y_exp_f", "Exposure hunting, nobody there. No events.", "exposure", fps=10, seconds=30, seed=206,
            light=pumping(206, 30, 0.6, 1.3, (2.5, 4.0), 0.7)),
        _vt("y_snow_a", "Snow with four near-lens flakes, wind. No events.", "snow", fps=10, seconds=25, seed=211,
            light=constant(0.85), snow=Snow(1000, wind=0.6, near=4)),
        _vt("y_snow_b", "Light snow, slow near-lens flakes. No events.", "snow", fps=12, seconds=25, seed=212,
            light=constant(0.95), snow=Snow(600, wind=-0.4, near=3, near_speed=(4.0, 9.0))),
        _vt("y_snow_c", "Snow with five large near-lens flakes. No events.", "snow", fps=10, seconds=25, seed=213,
            light=constant(0.9), snow=Snow(800, near=5, near_size=(20.0, 40.0))),
        _vt("y_snow_walker", "Snow; a person crosses on the pavement.", "snow", fps=10, seconds=25, seed=214,
            light=constant(0.9), snow=Snow(800, wind=0.3, near=3), walkers=[Walker(0, 50, PAVEMENT_RL, 1.3, 0.004)]),
        _vt("x_walker_early", "A person already walking as the clip starts.", "walker", fps=10, seconds=15,
            seed=306, walkers=[Walker(2, 3, PAVEMENT_LR, 2.5, 0.006)]),
        _vt("x_walker_fast", "A person running through the corner.", "walker", fps=10, seconds=15, seed=307,
            walkers=[Walker(0, 30, CORNER_LB, 6.0, 0.008)]),
        _vt("x_walker_big", "A big person close to the camera.", "walker", fps=15, seconds=15, seed=308,
            walkers=[Walker(1, 40, PAVEMENT_LR, 3.0, 0.03)]),
        _vt("x_walker_slow_far", "A slow person far off on the road.", "walker", fps=20, seconds=25, seed=309,
            walkers=[Walker(3, 40, FAR_ROAD, 0.5, 0.0015)]),
        _vt("x_walker_corner", "A person through the right corner.", "walker", fps=10, seconds=20, seed=310,
            walkers=[Walker(4, 20, CORNER_RT, 1.0, 0.005)]),
        # distant people in 1080p pictures, for the fine pass
        Clip("x_large_person", "1080p; a distant person (~0.012%) on the far road.", "small_1080p", split="dev",
             width=1920, height=1080, noise_bank=4, fps=10, seconds=30, seed=311,
             walkers=[Walker(3, 30, FAR_ROAD_LR, 1.5, 0.00012)]),
        Clip("x_large_person_night", "1080p at night; a distant person on the pavement.", "small_1080p",
             split="dev", width=1920, height=1080, noise_bank=4, fps=10, seconds=30, seed=312, noise=7.5,
             light=constant(0.3), walkers=[Walker(1, 40, PAVEMENT_RL, 1.7, 0.00014)]),
        Clip("x_large_snow", "1080p; fine snow, a few flakes near the lens. No events.", "snow", split="dev",
             width=1920, height=1080, noise_bank=4, fps=10, seconds=24, seed=313, light=constant(0.9),
             snow=Snow(1200, size=(0.5, 1.8), wind=-0.2, near=3)),
        Clip("x_large_snow_dense", "1080p; dense fine snow in dim light, two flakes near the lens. No events.",
             "snow", split="dev", width=1920, height=1080, noise_bank=4, fps=12, seconds=24, seed=314,
             noise=4.0, light=constant(0.7), snow=Snow(2200, size=(0.6, 1.5), wind=0.4, near=2)),
    ]


def clips() -> list[Clip]:
    """The development split, in a fixed order."""
    return original() + added() + variants()
