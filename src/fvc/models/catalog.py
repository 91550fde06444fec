"""The model catalog: an id maps to a keyword-only builder plus what is needed to feed and judge it.

Like timm's ``register_model``/``create_model`` and torchvision's
``r3d_18(*, weights=None, **kw)``: a name means "how to build the network or
estimator", its **data config** (which inputs, normalisation, scale recipe),
its **weights** (url, file, transforms, published size) and its **presets**
(``smoke``, ``full``). Nothing here knows how a model is trained or tracked.
"""

from __future__ import annotations

import copy
import fnmatch
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..errors import InputError
from ..training.clips import ClipSpec
from ..training.train_config import TrainConfig

# features: scikit-learn on feature tables; deep: torch on clips; embedding: a tree model on a deep backbone's
# per-video embeddings (the backbone is another catalog entry, trained per fold when it has no weights);
# ensemble: the mean of other entries' probabilities.
FAMILIES = ("features", "deep", "embedding", "ensemble")
PRESETS = ("smoke", "full")
DEFAULT_PRESET = "full"
# Normalisation statistics (RGB, 0-1 scale): each model's data config names one.
KINETICS = ((0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989))
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
# Keys of a deep preset's ``data`` part: which table, how many augmented copies per source video,
# the share of training groups held out for early stopping (0 = none).
DATA_KEYS = ("source", "copies_per_source", "val_share")


@dataclass(frozen=True)
class Weights:
    """Pretrained weights, as torchvision's ``WeightsEnum`` entries describe them.

    ``mean``/``std`` are the transforms the weights were trained with; ``meta``
    holds the published parameter count of the architecture and its source.
    """

    name: str
    url: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    sha256: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    # Local name in torch hub's checkpoint folder; hub-hosted files share basenames (model.safetensors).
    file: str | None = None

    @property
    def file_name(self) -> str:
        return self.file or self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DataConfig:
    """What a model reads and how its input is prepared.

    ``kind`` is ``features`` (feature-table columns of ``stages`` at
    ``feature_version``), ``clips`` (decoded clips per ``clip`` of the
    ``source`` table, normalised by ``mean``/``std``) or ``embeddings`` (the
    per-video embeddings of the deep model ``backbone``; a resolved config
    carries the backbone's clip and statistics). ``scale`` is the stage-3
    recipe the inputs come from (prediction replays it on a new video).
    """

    kind: str
    stages: tuple[int, ...] = ()
    feature_version: int | None = None
    clip: ClipSpec | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    source: str | None = None
    scale: str = "letterbox"
    backbone: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stages"] = list(self.stages)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DataConfig":
        d = dict(d)
        if d.get("clip") is not None:
            d["clip"] = ClipSpec(**d["clip"])
        for key in ("stages", "mean", "std"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


@dataclass(frozen=True)
class ModelEntry:
    """One catalog entry. ``presets[name]`` holds the builder's keyword arguments under ``model``
    and, for deep models, ``clip``/``train``/``data`` parts; feature models keep a ``grid``; embedding models
    keep a ``grid`` and ``backbone`` (overrides of the backbone's preset of the same name)."""

    id: str
    name: str
    family: str
    builder: Callable[..., Any]
    presets: Mapping[str, Mapping[str, Any]]
    data: DataConfig
    summary: str
    paper: str = ""
    year: int | None = None
    aliases: tuple[str, ...] = ()
    weights: Weights | None = None
    importance: str = "permutation"  # feature models: permutation (on the test fold) or native (booster)
    # A variant argument that fixes the clip (X3D-XS/S/M): model kwargs -> clip fields.
    clip_for: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    # Clip fields the builder takes too (a transformer's position embeddings are sized by frames and size):
    # the resolved preset copies them from ``clip`` into ``model``, so the network always fits its clips.
    clip_args: tuple[str, ...] = ()
    # Deep models: trainable parameters of the ``full`` preset as fvc builds it (binary head), so that
    # ``fvc models`` lists sizes without importing torch; a test rebuilds every entry and checks the number.
    num_params: int | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"model {self.id}: family must be one of {FAMILIES}, got {self.family!r}")
        unknown = set(self.presets) - set(PRESETS)
        if unknown or DEFAULT_PRESET not in self.presets:
            raise ValueError(f"model {self.id}: presets must include '{DEFAULT_PRESET}' and be among {PRESETS}")

    @property
    def default_preset(self) -> str:
        return DEFAULT_PRESET

    @property
    def inputs(self) -> str:
        if self.data.kind == "features":
            return " + ".join(f"stage-{s}" for s in self.data.stages) + " features"
        if self.data.kind == "embeddings":
            return f"{self.data.backbone} embeddings (mean + std over clips)"
        if self.data.kind == "ensemble":
            return "members' probabilities (mean per video)"
        clip = self.data_config().clip
        extra = ", unpadded" if clip and clip.mode == "varaspect" else ""
        return f"{self.data.source} clips (RGB{extra}{' + optical flow' if clip and clip.flow else ''})"

    @property
    def has_weights(self) -> bool:
        return "weights" in inspect.signature(self.builder).parameters

    def preset(self, name: str | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Resolved preset (a deep copy) with ``overrides`` routed by name to model/clip/train/data."""
        key = name or DEFAULT_PRESET
        if key not in self.presets:
            raise InputError("--preset", f"model {self.id} has no preset '{key}' (known: {', '.join(self.presets)})")
        out = copy.deepcopy(dict(self.presets[key]))
        out.setdefault("model", {})
        if self.family in ("features", "ensemble"):
            out["model"].update(overrides or {})
            return out
        if self.family == "embedding":  # builder arguments stay here, the rest configures the backbone
            own = inspect.signature(self.builder).parameters
            backbone = dict(out.get("backbone", {}))
            for k, v in (overrides or {}).items():
                if k in own:
                    out["model"][k] = v
                else:
                    backbone[k] = v
            out["backbone"] = get_model(self.data.backbone).preset(key, backbone)  # resolved: fails early
            return out
        for part in ("clip", "train", "data"):
            out.setdefault(part, {})
        clip_names = {f.name for f in fields(ClipSpec)}
        train_names = {f.name for f in fields(TrainConfig)}
        for k, v in (overrides or {}).items():
            if k == "weights" and not self.has_weights:
                if v not in (None, False, "none"):
                    raise InputError("--weights", f"model {self.id} ({self.name}) has no pretrained weights")
                continue  # --no-pretrained on a model that always trains from scratch: nothing to turn off
            part = "data" if k in DATA_KEYS else "clip" if k in clip_names else "train" if k in train_names else "model"
            out[part][k] = v
            if part == "model" and self.clip_for is not None and k in inspect.signature(self.clip_for).parameters:
                out["clip"].update({c: v2 for c, v2 in self.clip_for(**{k: v}).items()
                                    if c not in (overrides or {})})
        if self.clip_args:
            spec = ClipSpec(**out["clip"])
            out["model"].update({c: getattr(spec, c) for c in self.clip_args})
        return out

    def data_config(self, resolved: Mapping[str, Any] | None = None) -> DataConfig:
        """The data config of a resolved preset: the clip it asks for and the statistics of its weights."""
        if self.family in ("features", "ensemble"):
            return self.data
        resolved = resolved or self.preset()
        if self.family == "embedding":
            inner = get_model(self.data.backbone).data_config(resolved["backbone"])
            return replace(inner, kind="embeddings", backbone=self.data.backbone)
        uses_weights = resolved["model"].get("weights") not in (None, False, "none")
        mean, std = ((self.weights.mean, self.weights.std) if uses_weights and self.weights is not None
                     else (self.data.mean, self.data.std))
        return replace(self.data, clip=ClipSpec(**resolved["clip"]), mean=mean, std=std,
                       source=resolved["data"].get("source", self.data.source))

    def build(self, model_kwargs: Mapping[str, Any] | None = None) -> Any:
        """Call the builder; ``weights: "DEFAULT"`` (or true) means this entry's weights."""
        kw = dict(model_kwargs or {})
        if kw.get("weights") in ("DEFAULT", True):
            kw["weights"] = self.weights
        try:
            return self.builder(**kw)
        except TypeError as exc:
            raise InputError("model params", f"model {self.id}: {exc}") from exc

    @property
    def params(self) -> int | None:
        """Parameters of the network at the full preset; 5f-5j: their backbone's (the trees are not counted)."""
        if self.family == "embedding":
            return get_model(self.data.backbone).num_params
        return self.num_params

    def as_row(self) -> dict[str, Any]:
        n = self.params
        return {"id": self.id, "name": self.name, "family": self.family, "inputs": self.inputs,
                "presets": ",".join(self.presets), "params": f"{n / 1e6:.2f}M" if n else "",
                "paper": self.paper, "summary": self.summary}


_CATALOG: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add an entry; an id, name or alias already taken by another entry is an error."""
    keys = _keys(entry)
    for other in _CATALOG.values():
        if other.id != entry.id and keys & _keys(other):
            raise ValueError(f"model {entry.id}: {sorted(keys & _keys(other))} already name model {other.id}")
    _CATALOG[entry.id] = entry
    return entry


def _keys(entry: ModelEntry) -> set[str]:
    return {k.lower() for k in (entry.id, entry.name, *entry.aliases)}


def list_models(family: str | None = None, pattern: str | None = None) -> list[ModelEntry]:
    """Every entry (optionally one family, or ids matching a glob ``pattern``), in catalog order."""
    out = [e for e in _CATALOG.values() if family is None or e.family == family]
    if pattern:
        out = [e for e in out if fnmatch.fnmatch(e.id.lower(), pattern.lower())]
    return sorted(out, key=lambda e: _sort_key(e.id))


def get_model(ref: str) -> ModelEntry:
    """The one lookup: id, name or alias, case-insensitive; unknown -> InputError listing the ids."""
    key = str(ref).strip().lower()
    for entry in _CATALOG.values():
        if key in _keys(entry):
            return entry
    raise InputError("--model", f"unknown model '{ref}'; known ids: {', '.join(e.id for e in list_models())}")


def resolve_models(selector: str) -> list[ModelEntry]:
    """``all``/``features`` = every feature model, ``deep``/``embedding`` = that family, else comma-separated refs."""
    sel = selector.strip().lower()
    if sel in ("all", "features"):
        return list_models("features")
    if sel in ("deep", "embedding"):
        return list_models(sel)
    return [get_model(part) for part in selector.split(",") if part.strip()]


def create_model(ref: str, *, preset: str | None = None, **overrides: Any) -> Any:
    """Build a model by id at a preset, with builder arguments overridden (timm's ``create_model``)."""
    entry = get_model(ref)
    return entry.build(entry.preset(preset, overrides)["model"])


def _sort_key(model_id: str) -> tuple:
    m = re.match(r"(\d+)(.*)", model_id)
    return (int(m.group(1)), m.group(2)) if m else (10**6, model_id)
