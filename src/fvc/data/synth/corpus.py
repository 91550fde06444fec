"""The corpus plan: cascades, labels, platform URLs and file names, formats, near-duplicates.

Planning is cheap and fully determined by (n_videos, seed, size options);
rendering is done afterwards, job by job, in any order. Scenes and formats
are drawn for all cascades together and dealt out ignoring the label, so the
classes share one distribution of content and format; each cascade films its
own region of a photograph, so no two cascades are content twins (the footage
a fake was made from appears only inside the fake's own cascade).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy.stats import beta as beta_dist

from ...errors import InputError
from .encode import EncodeSpec, bitrate_for
from .manipulations import MANIPULATIONS, FakeSpec, draw_fake
from .neardups import NearDupSpec, draw_neardup
from .scenes import SCENE_IMAGES, SceneSpec, draw_scene, texture_width
from .seeding import rng_for

CONTAINERS = ("mp4", "webm", "mkv", "avi")
CONTAINER_P = (0.45, 0.2, 0.15, 0.2)
HEIGHTS = (144, 240, 360, 480, 720)
HEIGHT_P = (0.5, 0.3, 0.12, 0.05, 0.03)
ASPECTS = ((16, 9), (4, 3), (9, 16))
ASPECT_P = (0.7, 0.2, 0.1)
FPS_CHOICES = (Fraction(15), Fraction(20), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30))
PLATFORMS = ("youtube", "facebook", "twitter")
PLATFORM_P = (0.55, 0.35, 0.10)
FB_PAGES = ("newsdaily", "viralclips", "worldcam", "thedailyfeed", "amazingvideos", "lioncityfeed", "nowthis")
TW_USERS = ("breakingnow", "clipwatch", "eyewitness_tv", "newsflash", "worldviral", "reporter_j")
YT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ARCHIVES = ("FVC1.zip", "FVC2.zip", "FVC3.zip")
MAX_SECONDS = {360: 6.0, 480: 4.0, 720: 2.5}  # keeps the rare large clips affordable to build


@dataclass(frozen=True)
class SizeOptions:
    """Limits for fast fixtures: tests shrink height and duration, the demo keeps defaults."""

    max_height: int = 720
    max_duration: float = 8.0
    min_duration: float = 2.0

    def __post_init__(self):
        if self.max_height < 16:
            raise InputError("--max-height", f"{self.max_height} is too small (minimum 16)")
        if self.max_duration <= 0.2:
            raise InputError("--max-duration", f"{self.max_duration} s is too short (minimum 0.3 s)")

    def heights(self) -> tuple[list[int], np.ndarray]:
        hs = [h for h in HEIGHTS if h <= self.max_height]
        if not hs:
            return [_even(self.max_height)], np.ones(1)
        p = np.array([HEIGHT_P[HEIGHTS.index(h)] for h in hs])
        return hs, p / p.sum()

    def sizes(self) -> tuple[list[tuple[int, int]], list[float]]:
        """Every (width, height) the corpus uses, with how common each is."""
        hs, hp = self.heights()
        pairs = [(_size(h, a), float(p * ap)) for h, p in zip(hs, hp) for a, ap in zip(ASPECTS, ASPECT_P)]
        return [s for s, _ in pairs], [p for _, p in pairs]


@dataclass(frozen=True)
class VideoJob:
    """One file of the corpus: its metadata row and how to make it."""

    file_name: str
    cascade_id: str
    source: str  # FVC or FVC_dup
    video_url: str
    platform: str
    platform_id: str
    label_raw: str
    role: str  # original / near_duplicate
    manipulation: str  # none or a kind from MANIPULATIONS
    encode: EncodeSpec
    n_frames: int
    archive: str
    scene: SceneSpec | None = None
    fake: FakeSpec | None = None
    parent: str | None = None
    neardup: NearDupSpec | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def transform(self) -> str:
        return self.neardup.transform if self.neardup else "none"


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _size(height: int, aspect: tuple[int, int]) -> tuple[int, int]:
    """(width, height) for a nominal line count: the short side is ``height``."""
    a, b = aspect
    if a >= b:
        return _even(height * a / b), _even(height)
    return _even(height), _even(height * b / a)


def default_cascades(n_videos: int) -> int:
    """About 1.5 files per cascade: grouped CV needs many independent cascades (80 in the 120-video demo);
    each manipulation kind then has about 8 fake cascades to learn from and be tested on."""
    return max(4, int(round(n_videos / 1.5)))


class _Namer:
    """Platform ids and URLs, unique within the corpus."""

    def __init__(self, rng: np.random.Generator):
        self.rng, self.used = rng, set()

    def draw(self) -> tuple[str, str, str]:
        while True:
            platform = str(self.rng.choice(PLATFORMS, p=PLATFORM_P))
            if platform == "youtube":
                pid = "".join(self.rng.choice(list(YT_ALPHABET), size=11))
                url = f"https://www.youtube.com/watch?v={pid}"
            elif platform == "facebook":
                pid = str(int(self.rng.integers(10**14, 10**16)))
                url = f"https://www.facebook.com/{self.rng.choice(FB_PAGES)}/videos/{pid}/"
            else:
                pid = str(int(self.rng.integers(7 * 10**17, 2 * 10**18)))
                url = f"https://twitter.com/{self.rng.choice(TW_USERS)}/status/{pid}"
            if pid not in self.used:
                self.used.add(pid)
                return platform, pid, url


def _strata(rng: np.random.Generator, n: int) -> np.ndarray:
    """n stratified uniforms in random order: one in each of n equal bins, so small samples
    still follow the distribution closely (both classes get the same mix of formats)."""
    return rng.permutation((np.arange(n) + rng.random(n)) / max(1, n))


def _pick(u: float, choices, p) -> object:
    idx = int(np.searchsorted(np.cumsum(p) / np.sum(p), u, side="right"))
    return choices[min(idx, len(choices) - 1)]


def _draw_formats(rng: np.random.Generator, n: int, opts: SizeOptions) -> list[dict]:
    """Formats for n seed videos of one class, stratified over every attribute."""
    hs, hp = opts.heights()
    lo = min(opts.min_duration, opts.max_duration)
    cols = {k: _strata(rng, n) for k in ("height", "aspect", "fps", "duration", "container", "audio")}
    out = []
    for i in range(n):
        height = int(_pick(cols["height"][i], hs, hp))
        aspect = _pick(cols["aspect"][i], ASPECTS, ASPECT_P)
        fps = _pick(cols["fps"][i], FPS_CHOICES, np.ones(len(FPS_CHOICES)))
        duration = lo + (opts.max_duration - lo) * float(beta_dist.ppf(cols["duration"][i], 1.0, 3.5))
        duration = min(duration, max(lo, MAX_SECONDS.get(height, duration)))
        w, h = _size(height, aspect)
        out.append({"container": str(_pick(cols["container"][i], CONTAINERS, CONTAINER_P)), "width": w,
                    "height": h, "fps": fps, "n_frames": max(3, int(round(duration * float(fps)))),
                    "audio": bool(cols["audio"][i] < 0.5), "tone": float(rng.uniform(200, 900))})
    return out


def _scene_regions(rng: np.random.Generator, n: int) -> list[tuple[str, tuple[float, float, bool]]]:
    """A photograph and a distinct region of it for each of n cascades.

    Photographs are drawn independently (each used about n / 15 times); the
    cascades sharing one get different cells of a jittered grid over it and
    alternate mirroring, so two cascades never film the same part of a scene.
    """
    images = rng.choice(np.array(SCENE_IMAGES), size=n)  # independent draws: no balancing (see plan_corpus)
    out: list[tuple[str, tuple[float, float, bool]]] = []
    used: dict[str, int] = {}
    counts = {str(name): int((images == name).sum()) for name in SCENE_IMAGES}
    cells: dict[str, np.ndarray] = {}
    for name in map(str, images):
        u = counts[name]
        side = int(np.ceil(np.sqrt(u)))
        if name not in cells:
            cells[name] = rng.permutation(side * side)[:u]
        j = used.get(name, 0)
        used[name] = j + 1
        cell = int(cells[name][j])
        cx = (cell % side + 0.5) / side + rng.uniform(-0.06, 0.06) / side
        cy = (cell // side + 0.5) / side + rng.uniform(-0.06, 0.06) / side
        out.append((name, (float(cx), float(cy), bool(j % 2))))
    return out


def _gop(rng: np.random.Generator, fps: Fraction, who: str) -> int:
    f = int(round(float(fps)))
    if who == "camera":  # cameras and phones: a keyframe every 1-2 s
        return int(rng.choice([f, 2 * f, 2 * f, 250], p=[0.4, 0.25, 0.2, 0.15]))
    if who == "editor":  # editing software exports
        return int(rng.choice([12, 250, 300, 2 * f], p=[0.3, 0.3, 0.15, 0.25]))
    return int(rng.choice([2 * f, 5 * f, 250]))  # platform re-encodes


def _encode(rng, fmt: dict, who: str, container: str | None = None, size: tuple[int, int] | None = None,
            audio: bool | None = None) -> EncodeSpec:
    w, h = size or (fmt["width"], fmt["height"])
    bpp = rng.uniform(0.08, 0.22)  # what phones and platforms spend at these sizes
    return EncodeSpec(container or fmt["container"], w, h, fmt["fps"], bitrate_for(w, h, fmt["fps"], bpp),
                      _gop(rng, fmt["fps"], who), fmt["audio"] if audio is None else audio, fmt["tone"])


def _cascade_sizes(rng: np.random.Generator, n_videos: int, n_cascades: int, n_fake: int) -> list[int]:
    """Heavy-tailed sizes: one seed each, the rest shared by lognormal weights.

    Fake cascades hold 64% of the extra rows (near-duplicates plus the source
    footage some fakes were made from), so that, as in the FVC (2920 fake,
    2164 real rows), fakes outnumber reals however the heavy tail falls.
    """
    extra = n_videos - n_cascades
    n_fake_extra = int(round(extra * 0.64)) if n_fake < n_cascades else extra
    out = []
    for count, total in ((n_fake, n_fake_extra), (n_cascades - n_fake, extra - n_fake_extra)):
        weights = rng.lognormal(0.0, 1.1, size=count)
        out += [1 + int(e) for e in rng.multinomial(total, weights / weights.sum())]
    return out


def plan_corpus(n_videos: int, seed: int, opts: SizeOptions | None = None,
                n_cascades: int | None = None) -> list[VideoJob]:
    """Every file of the corpus, with its metadata and recipe, in a stable order."""
    opts = opts or SizeOptions()
    n_cascades = default_cascades(n_videos) if n_cascades is None else int(n_cascades)
    if n_cascades < 4:
        raise InputError("--cascades", f"{n_cascades} is too few (need at least 4: 2 fake and 2 real)")
    if n_videos < n_cascades:
        raise InputError("--videos", f"{n_videos} is too small for {n_cascades} cascades (one video each at least)")
    rng = rng_for(seed, "plan")
    namer = _Namer(rng_for(seed, "names"))
    # Slightly more fake than real cascades, as in the FVC (200 fake / 180 real seeds).
    n_fake = int(round(n_cascades * 0.53))
    n_fake = min(max(n_fake, 2), n_cascades - 2)
    n_real = n_cascades - n_fake
    sizes = _cascade_sizes(rng, n_videos, n_cascades, n_fake)
    kinds = list(rng.permutation(np.resize(np.array(MANIPULATIONS), n_fake)))
    order = [("f", k) for k in range(n_fake)] + [("r", k) for k in range(n_real)]
    # Scenes are drawn for all cascades together and dealt out ignoring the label: class and content are
    # independent, and no fake has a matched real twin.
    # Formats are drawn independently per cascade. Balancing them between the classes (stratified or
    # paired draws) makes grouped CV score content below chance: leaving a cascade out leaves its format
    # over-represented in the other class, so a model that recognises formats learns the wrong label.
    formats = [_draw_formats(rng_for(seed, "formats", f"{letter}{k}"), 1, opts)[0] for letter, k in order]
    scenes = _scene_regions(rng_for(seed, "images"), n_cascades)
    deal = rng_for(seed, "deal").permutation(n_cascades)
    all_sizes, size_p = opts.sizes()
    texture = texture_width(max(max(w, h) for w, h in all_sizes))
    jobs: list[VideoJob] = []
    for i, (letter, k) in enumerate(order):
        is_fake, cid = letter == "f", f"{letter}{k}"
        crng = rng_for(seed, "cascade", cid)
        fmt, (image, region) = formats[i], scenes[deal[i]]
        scene = draw_scene(seed, cid, fmt["width"], fmt["height"], fmt["n_frames"], float(fmt["fps"]), image=image,
                           region=region, texture=texture)
        fake = draw_fake(seed, cid, kinds[k]) if is_fake else None
        archive = ARCHIVES[i % 3]
        platform, pid, url = namer.draw()
        ext = fmt["container"]
        name = f"{cid}.{ext}" if crng.random() < 0.15 else f"{pid}.{ext}"
        seed_job = VideoJob(
            file_name=name, cascade_id=cid, source="FVC", video_url=url, platform=platform, platform_id=pid,
            label_raw="fake" if is_fake else "real", role="original",
            manipulation=fake.kind if fake else "none",
            encode=_encode(crng, fmt, "editor" if is_fake else "camera"), n_frames=fmt["n_frames"],
            archive=archive, scene=scene, fake=fake, extra={"variant": fake.name if fake else "none"},
        )
        jobs.append(seed_job)
        n_extra = sizes[i] - 1
        if is_fake and fake.kind != "cgi" and n_extra >= 2 and crng.random() < 0.45:
            # The camera footage the fake was made from, posted on its own (label real).
            platform, pid, url = namer.draw()
            sfmt = dict(fmt, container=str(crng.choice(CONTAINERS, p=CONTAINER_P)))
            size = all_sizes[int(crng.choice(len(all_sizes), p=np.array(size_p) / sum(size_p)))]
            jobs.append(VideoJob(
                file_name=f"{pid}.{sfmt['container']}", cascade_id=cid, source="FVC_dup", video_url=url,
                platform=platform, platform_id=pid, label_raw="real", role="original", manipulation="none",
                encode=_encode(crng, sfmt, "camera", size=size), n_frames=fmt["n_frames"], archive=archive,
                scene=scene.with_size(*size), extra={"variant": "source_footage"},
            ))
            n_extra -= 1
        for k in range(n_extra):
            jobs.append(_neardup_job(seed, crng, namer, seed_job, k, is_fake, fmt, (all_sizes, size_p)))
    return jobs


def _neardup_job(seed: int, crng, namer: _Namer, parent: VideoJob, k: int, is_fake: bool, fmt: dict,
                 sizes: tuple[list[tuple[int, int]], list[float]]) -> VideoJob:
    nd = draw_neardup(seed, f"{parent.cascade_id}-{k}", parent.encode.width, parent.encode.height,
                      parent.n_frames, *sizes)
    u = crng.random()
    if is_fake:
        label = "uncertain" if u < 0.1 else "debunked" if u < 0.14 else "parody" if u < 0.18 else "fake"
    else:
        label = "parody" if u < 0.03 else "uncertain" if u < 0.05 else "real"
    container = parent.encode.container if nd.transform in ("reencode", "rescale") and crng.random() < 0.5 \
        else str(crng.choice(CONTAINERS, p=CONTAINER_P))
    audio = parent.encode.audio and crng.random() < 0.8
    enc = _encode(crng, fmt, "platform", container=container, size=(nd.width, nd.height), audio=audio)
    platform, pid, url = namer.draw()
    return VideoJob(
        file_name=f"{pid}.{container}", cascade_id=parent.cascade_id, source="FVC_dup", video_url=url,
        platform=platform, platform_id=pid, label_raw=label, role="near_duplicate",
        manipulation=parent.manipulation, encode=enc, n_frames=nd.count, archive=parent.archive,
        parent=parent.file_name, neardup=nd, extra={"variant": parent.extra["variant"]},
    )


def cascade_summary(jobs: list[VideoJob]) -> dict[str, int]:
    """Rows per cascade (for reports and tests)."""
    out: dict[str, int] = {}
    for j in jobs:
        out[j.cascade_id] = out.get(j.cascade_id, 0) + 1
    return out


__all__ = ["SizeOptions", "VideoJob", "plan_corpus", "default_cascades", "cascade_summary", "ARCHIVES",
           "CONTAINERS"]
