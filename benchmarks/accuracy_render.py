"""Render an accuracy clip frame by frame, and derive its truth from what was drawn.

Why: the truth of a clip must be exact to the frame, so it is never typed in: the renderer records,
for every walker, the frames in which any pixel of its mask lands inside the picture (after the
camera's shake, pan or knock), and the truth is computed from that record and from the clip's cuts,
knocks and light switches.

Per frame: the world (the plate, or a cut-to scene) gets its foliage and walkers; the camera's view
of it is cut out (shake, pan, knock); then local light (cloud shadows, a dappled shadow, headlights),
the global light (gain, gamma, tint, the grey infrared mode), flyers, rain or snow and sensor noise
are applied to the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import accuracy_effects as fx
import cv2
import numpy as np
from accuracy_footage import Footage, TreeVideo, Walk
from accuracy_scene import Clip, Foliage, TreeFoliage, Walker

Image = np.ndarray


def _polyline_at(points: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Point and unit direction at ``distance`` along a polyline, or None past its end."""
    for a, b in zip(points[:-1], points[1:], strict=True):
        seg = float(np.hypot(*(b - a)))
        if distance <= seg:
            d = (b - a) / seg
            return a + d * distance, d
        distance -= seg
    return None


class _WalkerState:
    """Pre-scaled sprites and the path in world pixels for one walker."""

    def __init__(self, walker: Walker, walk: Walk, world_scale: float, view: tuple[float, float, float, float],
                 fps: float):
        self.walker = walker
        self.fps = fps
        x0, y0, x1, y1 = view  # the unshaken picture in world pixels
        picture_area = (x1 - x0) * (y1 - y0)
        scale = math.sqrt(walker.area * picture_area / walk.mean_area)
        self.images = [cv2.resize(im, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for im in walk.images]
        self.alphas = [cv2.resize(a, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for a in walk.alphas]
        # ping-pong through the gait so it never jumps back to the first frame
        order = list(range(len(walk.images))) + list(range(len(walk.images) - 2, 0, -1))
        self.order = order
        self.stride = max(0.3, walk.stride * scale)
        self.faces_right = walk.faces_right
        # a standing person keeps the narrowest pose (feet together)
        self.stand_pose = int(np.argmin([(a > 0.5).any(axis=0).sum() for a in walk.alphas]))
        self.path = np.array(walker.path, np.float32) * world_scale
        # walkers come into view and leave it; they never appear or vanish inside the picture
        h, w = self.alphas[0].shape
        self.view = view
        if self._in_view(self.path[0]):
            raise ValueError(f"walker path {walker.path} starts inside the picture")
        # distance along the path at which the sprite's box first overlaps the picture
        self.lead = 0.0
        while True:
            at = _polyline_at(self.path, self.lead)
            if at is None:
                raise ValueError(f"walker path {walker.path} never enters the picture")
            fx_, fy_ = at[0]
            if fx_ + w / 2 > x0 and fx_ - w / 2 < x1 and fy_ > y0 and fy_ - h < y1:
                break
            self.lead += 0.5

    def _in_view(self, feet: np.ndarray) -> bool:
        """Whether a sprite standing at ``feet`` (world pixels) would overlap the unshaken picture."""
        x0, y0, x1, y1 = self.view
        h, w = self.alphas[0].shape
        return bool(feet[0] + w / 2 > x0 and feet[0] - w / 2 < x1 and feet[1] > y0 and feet[1] - h < y1)

    def sprite(self, frame: int) -> tuple[Image, np.ndarray, float, float] | None:
        """(image, alpha, x, y) of the sprite's top-left corner in world pixels at ``frame``, or None."""
        walked = frame - self.walker.enter
        standing = False
        if self.walker.stand is not None:
            at, frames = self.walker.stand
            stood = min(max(frame - at, 0), frames)
            walked -= stood
            standing = at <= frame < at + frames
        distance = self.lead + walked * self.walker.speed
        if distance < 0:
            return None
        at_path = _polyline_at(self.path, distance)
        if at_path is None:
            if self._in_view(self.path[-1]):
                raise ValueError(f"walker path {self.walker.path} ends inside the picture at frame {frame}")
            return None
        (fx_, fy_), direction = at_path
        k = self.stand_pose if standing else self.order[int(distance / self.stride) % len(self.order)]
        image, alpha = self.images[k], self.alphas[k]
        if (direction[0] >= 0) != self.faces_right:
            image, alpha = image[:, ::-1], alpha[:, ::-1]
        if standing:  # weight shifting from foot to foot
            fx_ += 0.35 * math.sin(2 * math.pi * frame / (2.3 * self.fps))
        h, w = alpha.shape
        return image, alpha, float(fx_ - w / 2), float(fy_ - h)


def _paste(world: Image, layer: np.ndarray, image: Image, alpha: np.ndarray, x: float, y: float) -> None:
    """Alpha-blend a sprite at a sub-pixel position; also add its alpha to ``layer`` (for truth)."""
    ix, iy = int(math.floor(x)), int(math.floor(y))
    h, w = alpha.shape
    shift = np.float32([[1, 0, x - ix], [0, 1, y - iy]])
    size = (w + 2, h + 2)
    img = cv2.warpAffine(np.ascontiguousarray(image), shift, size, flags=cv2.INTER_LINEAR)
    alp = cv2.warpAffine(np.ascontiguousarray(alpha), shift, size, flags=cv2.INTER_LINEAR)
    H, W = layer.shape
    x0, y0, x1, y1 = max(ix, 0), max(iy, 0), min(ix + size[0], W), min(iy + size[1], H)
    if x0 >= x1 or y0 >= y1:
        return
    a = alp[y0 - iy:y1 - iy, x0 - ix:x1 - ix]
    a3 = a[..., None]
    world[y0:y1, x0:x1] = world[y0:y1, x0:x1] * (1 - a3) + img[y0 - iy:y1 - iy, x0 - ix:x1 - ix] * a3
    layer[y0:y1, x0:x1] = np.maximum(layer[y0:y1, x0:x1], a)


class _FoliageState:
    """The foliage crop scaled to its box, with a soft crown-shaped mask and a smooth flutter field."""

    def __init__(self, foliage: Foliage, texture: Image, world_w: int, world_h: int, rng: np.random.Generator):
        u0, v0, u1, v1 = foliage.box
        self.x0, self.y0 = int(u0 * world_w), int(v0 * world_h)
        w, h = int((u1 - u0) * world_w), int((v1 - v0) * world_h)
        self.texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_AREA)
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (w // 2, int(h * 0.45)), (int(w * 0.46), int(h * 0.44)), 0, 0, 360, 1.0, -1)
        # sky seen through the leaves (near-white in the tree footage) is a hole in the crown
        leaves = np.clip((250.0 - self.texture.min(axis=2)) / 60.0, 0.0, 1.0)
        self.mask = cv2.GaussianBlur(mask, (0, 0), 3) * cv2.GaussianBlur(leaves, (3, 3), 0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.xx, self.yy = xx, yy
        self.bend = ((h - yy) / h) ** 1.5  # the base is rooted, the top sways most
        phase = cv2.GaussianBlur(rng.uniform(0, 2 * math.pi, (h, w)).astype(np.float32), (0, 0), 4)
        self.phase = (phase - phase.mean()) * 12.0
        self.foliage = foliage

    def paste(self, world: Image, seconds: float) -> None:
        f = self.foliage
        gust = 0.75 + 0.35 * math.sin(2 * math.pi * seconds / 7.3)
        sway = f.amplitude * gust * math.sin(2 * math.pi * seconds / f.period)
        flutter = 0.8 * np.sin(2 * math.pi * seconds / 0.9 + self.phase)
        map_x = self.xx - sway * self.bend - flutter
        map_y = self.yy - 0.3 * flutter
        tex = cv2.remap(self.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.remap(self.mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        h, w = self.mask.shape
        roi = world[self.y0:self.y0 + h, self.x0:self.x0 + w]
        roi[:] = roi * (1 - alpha) + tex * alpha


class _TreeState:
    """Real foliage: each frame a crop of tree.avi, its sky made transparent, inside a soft crown outline."""

    def __init__(self, tree: TreeFoliage, video: TreeVideo, world_w: int, world_h: int) -> None:
        u0, v0, u1, v1 = tree.box
        self.x0, self.y0 = int(u0 * world_w), int(v0 * world_h)
        self.size = (int((u1 - u0) * world_w), int((v1 - v0) * world_h))
        w, h = self.size
        crown = np.zeros((h, w), np.float32)
        cv2.ellipse(crown, (w // 2, int(h * 0.47)), (int(w * 0.47), int(h * 0.45)), 0, 0, 360, 1.0, -1)
        self.crown = cv2.GaussianBlur(crown, (0, 0), max(2.0, w / 60))
        self.tree, self.video = tree, video

    def paste(self, world: Image, seconds: float) -> None:
        x0, y0, x1, y1 = self.tree.crop
        frame = self.video.at(seconds, *self.tree.frames, self.tree.rate)[y0:y1, x0:x1]
        tex = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA).astype(np.float32)
        leaves = np.clip((245.0 - tex.min(axis=2)) / 50.0, 0.0, 1.0)  # the bright sky between the leaves is a hole
        tex = 255.0 * (tex / 255.0) ** 2.0  # tree.avi is overexposed: bring the leaves to the plate's exposure
        alpha = (self.crown * cv2.GaussianBlur(leaves, (3, 3), 0))[..., None]
        w, h = self.size
        roi = world[self.y0:self.y0 + h, self.x0:self.x0 + w]
        roi[:] = roi * (1 - alpha) + tex * alpha


def _fit(scene: Image, ww: int, wh: int) -> Image:
    """A scene cropped to the world's aspect and resized to it."""
    sh, sw = scene.shape[:2]
    crop = min(sw / ww, sh / wh)
    cw, ch = int(ww * crop), int(wh * crop)
    part = scene[(sh - ch) // 2:(sh - ch) // 2 + ch, (sw - cw) // 2:(sw - cw) // 2 + cw]
    return cv2.resize(part, (ww, wh), interpolation=cv2.INTER_AREA)


def _scene_schedule(clip: Clip) -> list[str]:
    """The scene shown before the first cut and after each cut."""
    if clip.cut_scenes:
        return ["plate", *clip.cut_scenes]
    return ["plate" if k % 2 == 0 else "building" for k in range(len(clip.cuts) + 1)]


def _ease(k: float) -> float:
    k = min(1.0, max(0.0, k))
    return k * k * (3 - 2 * k)


def render(clip: Clip, footage: Footage, emit: Callable[[np.ndarray], None]) -> list[dict]:
    """Render every frame of ``clip`` into ``emit``; return per-walker visibility (frame -> pixels in view)."""
    rng = np.random.default_rng(clip.seed)
    W, H = clip.width, clip.height
    ww, wh = int(round(W * clip.margin)), int(round(H * clip.margin))
    schedule = _scene_schedule(clip)
    scenes = {name: (cv2.resize(footage.plate, (ww, wh), interpolation=cv2.INTER_AREA) if name == "plate"
                     else _fit(footage.scenes[name], ww, wh)) for name in set(schedule)}
    view = ((ww - W) / 2, (wh - H) / 2, (ww + W) / 2, (wh + H) / 2)
    walks = footage.walks[clip.split]
    walkers = [_WalkerState(w, walks[w.walk % len(walks)], ww, view, clip.fps) for w in clip.walkers]
    foliage = _FoliageState(clip.foliage, footage.foliage, ww, wh, rng) if clip.foliage else None
    n = clip.frames
    shake = clip.shake(rng, n, clip.fps) if clip.shake else np.zeros((n, 2), np.float32)
    noise = rng.standard_normal((clip.noise_bank, H, W, 3), dtype=np.float32) if clip.noise > 0 else None
    # every other effect draws from its own generator, so adding one never changes the rest of a clip
    tree = _TreeState(clip.tree, footage.tree, ww, wh) if clip.tree else None
    snow = fx.SnowFall(clip.snow, W, H, clip.fps, np.random.default_rng([clip.seed, 1])) if clip.snow else None
    clouds = fx.CloudField(clip.clouds, W, H, n, np.random.default_rng([clip.seed, 2])) if clip.clouds else None
    dapple = fx.DappleShadow(clip.dapple, footage.tree, W, H, clip.fps) if clip.dapple else None
    headlights = [fx.Headlight(s, W, H) for s in clip.headlights]
    flyers = fx.Flyers(clip.flyers) if clip.flyers else None
    weather = np.random.default_rng([clip.seed, 3])
    visible: list[dict[int, int]] = [{} for _ in walkers]
    base = np.array([(ww - W) / 2, (wh - H) / 2], np.float32)
    for i in range(n):
        t = i / clip.fps
        world = scenes[schedule[sum(1 for c in clip.cuts if i >= c)]].copy()
        if foliage is not None:
            foliage.paste(world, t)
        if tree is not None:
            tree.paste(world, t)
        layers = []
        for state in walkers:
            layer = np.zeros((wh, ww), np.float32)
            sprite = state.sprite(i)
            if sprite is not None:
                _paste(world, layer, *sprite)
            layers.append(layer if sprite is not None else None)
        ox, oy = base + shake[i]
        angle = 0.0
        if clip.pan:
            k = _ease((t - clip.pan.start) / (clip.pan.end - clip.pan.start)) - 0.5
            ox += k * clip.pan.shift[0] * W
            oy += k * clip.pan.shift[1] * H
        if clip.knock and i >= clip.knock.frame:
            k = min(1.0, (i - clip.knock.frame + 1) / clip.knock.frames)
            ox += k * clip.knock.shift[0] * W
            oy += k * clip.knock.shift[1] * H
            angle = k * clip.knock.angle
        # picture pixel p shows world point R (p - c) + c + offset: a rotation about the picture centre
        camera = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
        camera[:, 2] += (ox, oy)
        inverse = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        picture = cv2.warpAffine(world, camera, (W, H), flags=inverse, borderMode=cv2.BORDER_REFLECT)
        for k, layer in enumerate(layers):
            if layer is not None:
                seen = cv2.warpAffine(layer, camera, (W, H), flags=inverse)
                pixels = int((seen > 0.5).sum())
                if pixels:
                    visible[k][i] = pixels
        if clouds is not None:
            picture *= clouds.multiplier(i)[..., None]
        if dapple is not None:
            dapple.apply(picture, i)
        for lamp in headlights:
            added = lamp.light(t)
            if added is not None:
                picture *= (1.0 + added)[..., None]
        if clip.light is not None:
            gain, gamma = clip.light(t)
            if gamma != 1.0:
                picture = 255.0 * np.power(np.clip(picture, 0, None) / 255.0, gamma)
            picture = picture * gain
        if clip.tint is not None:
            picture *= np.float32(clip.tint)
        if any(a <= t < b for a, b in clip.mono):  # the camera's infrared mode: grey
            grey = picture[..., 0] * 0.15 + picture[..., 1] * 0.6 + picture[..., 2] * 0.25
            picture = np.repeat(grey[..., None], 3, axis=2)
        if flyers is not None:
            flyers.draw(picture, i)
        if isinstance(clip.rain, int):
            if clip.rain:
                picture += fx.rain(rng, W, H, clip.rain)[..., None] * 0.8
        else:
            picture += fx.styled_rain(weather, W, H, clip.rain)[..., None] * 0.8
        if snow is not None:
            snow.draw(picture, i)
        if noise is not None:
            field_ = noise[int(rng.integers(clip.noise_bank))]
            field_ = np.roll(field_, (int(rng.integers(H)), int(rng.integers(W))), axis=(0, 1))
            picture += clip.noise * field_
        emit(np.clip(picture, 0, 255).astype(np.uint8))
    return visible


def _runs(frames: Sequence[int]) -> list[list[int]]:
    """Sorted frame numbers -> inclusive [start, end] runs."""
    runs: list[list[int]] = []
    for f in sorted(frames):
        if runs and f == runs[-1][1] + 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    return runs


def truth_for(clip: Clip, visible: list[dict[int, int]], footage: Footage, version: int) -> dict:
    """Ground truth from what was drawn, in the format ``vidwatch eval`` reads.

    ``motion``: from the first to the last frame a walker is in view (it moves, or stands as a
    loiterer, all that time; jitter can hide it for a frame at the picture's edge, which is not a gap),
    overlapping walkers making one event. ``scene_change``: each cut, and the frames over which a
    knocked camera moves. ``lighting``: sudden global light changes. Where a scene change may be
    reported but need not be (a slow pan), an ``ignore`` span for that kind.
    """
    events: list[tuple[int, int, str]] = []
    spans = [set(range(min(v), max(v) + 1)) for v in visible if v]
    for start, end in _runs(sorted(set().union(*spans)) if spans else []):
        events.append((start, end, "motion"))
    for cut in clip.cuts:
        events.append((cut, cut, "scene_change"))
    if clip.knock:
        events.append((clip.knock.frame, clip.knock.frame + clip.knock.frames - 1, "scene_change"))
    for light in clip.lighting:
        a, b = (light, light) if isinstance(light, int) else light
        events.append((a, b, "lighting"))
    events.sort()
    walkers = []
    for w, v in zip(clip.walkers, visible, strict=True):
        if v:
            walkers.append({"first_visible": min(v), "last_visible": max(v), "speed": w.speed,
                            "area_fraction": round(float(np.median(list(v.values()))) / (clip.width * clip.height), 5)})
    labelled = ["motion", "scene_change"] + (["lighting"] if clip.lighting else [])
    return {
        "events": [[a, b] if k == "motion" else [a, b, k] for a, b, k in events],
        "labelled_kinds": labelled,
        "ignore": [[a, b, "scene_change"] for a, b in clip.allow_scene_change],
        "fps": clip.fps,
        "frames": clip.frames,
        "width": clip.width,
        "height": clip.height,
        "split": clip.split,
        "category": clip.category,
        "description": clip.description,
        "footage": footage.kind,
        "walkers": walkers,
        "generator_version": version,
    }
