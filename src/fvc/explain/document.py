"""One explanation document per video: verdict, timeline, evidence, codec panel, OOD check, plus PNGs.

The verdict is the one ``fvc predict`` gives (same Predictor, same card);
everything else explains it. The JSON layout is documented in
``docs/explain-schema.md``; PNG files are written beside it and named
relative to it, so the folder can be moved or zipped as one unit.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.index import probe_video
from ..features.extract import video_features
from ..models import training_summary
from ..predict import Predictor
from . import attribution, gradcam, media, rollout
from .timeline import WHOLE_VIDEO, Segment, clip_segments, read_windows, window_features, windows

SCHEMA = "fvc-explain/1"
CAM_FRAMES = 6  # overlays written for the most suspicious clip
CAM_HEIGHT = 160


def card_summary(predictor: Predictor) -> dict[str, Any]:
    c = predictor.card
    return {"model_id": c.model_id, "name": c.name, "family": c.family, "preset": c.preset,
            "input": c.data.get("kind"), "stages": c.data.get("stages"), "data_fingerprint": c.data_fingerprint,
            "config_hash": c.config_hash, "created_at": c.created_at, "package_version": c.package_version,
            "cv_roc_auc": c.cv.get("roc_auc"), "cv_roc_auc_std": c.cv.get("roc_auc_std"),
            "cv_folds": c.cv.get("n_folds")}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def explain_video(predictor: Predictor, video: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Explain one video with a loaded model; PNGs go to ``out_dir``, the document is returned."""
    t0 = time.perf_counter()
    video, out_dir = Path(video), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    probe = probe_video(video)  # a file that is not a video stops here with a one-line VideoError
    fps = float(probe["fps"]) if probe.get("fps") and np.isfinite(probe["fps"]) else 25.0
    with tempfile.TemporaryDirectory(prefix="fvc-explain-") as tmp:
        body = (_deep if predictor.kind == "deep" else _features)(predictor, video, probe, fps, Path(tmp), out_dir)
    prob = body.pop("prob_fake")
    segments: list[Segment] = body.pop("segments")
    seg_probs = body.pop("segment_probs")
    notes = body.pop("segment_notes", None) or [{} for _ in segments]
    thr = predictor.threshold
    worst = int(np.argmax(seg_probs))
    timeline = [{"index": i, "start_s": s.start_s, "end_s": s.end_s, "prob_fake": float(p),
                 "suspicious": bool(p >= thr), "whole_video_families": sorted(n)}
                for i, (s, p, n) in enumerate(zip(segments, seg_probs, notes, strict=True))]
    mids = strip_frames(segments, fps, int(probe["frame_count"]))
    frames = body.pop("strip", None)  # a feature model's window pass kept them; else one more decode
    frames = media.keyframes(video, mids) if frames is None else frames
    strip = []
    for i, m in enumerate(mids):
        if m in frames:
            name = media.write_png(out_dir / f"keyframe_{i:03d}.png", media.thumbnail(frames[m]))
            strip.append({"segment": i, "time_s": m / fps, "image": name, "suspicious": timeline[i]["suspicious"]})
    doc = {
        "schema": SCHEMA,
        "video": {"name": video.name, "sha256": probe.get("sha256"), "duration_s": probe.get("duration")},
        "model": card_summary(predictor),
        "verdict": {"prob_fake": prob, "label": "fake" if prob >= thr else "real", "threshold": thr},
        "timeline": {"unit": body.pop("unit"), "segments": timeline, "most_suspicious": worst,
                     "whole_video_evidence": body.pop("whole_video_evidence", [])},
        "keyframes": strip,
        "evidence": body.pop("evidence"),
        "codec": media.codec_panel(probe, list(frames.values())),
        "ood": body.pop("ood"),
    }
    doc["images"] = sorted([k["image"] for k in strip] + [c["image"] for c in doc["evidence"].get("images", [])])
    doc["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return doc


def strip_frames(segments: list[Segment], fps: float, n_frames: int) -> list[int]:
    """The keyframe strip: the middle frame of each segment, in the original video's frame numbering."""
    return [min(n_frames - 1, round((s.start_s + s.end_s) * fps / 2)) for s in segments]


def _features(predictor: Predictor, video: Path, probe: dict, fps: float, tmp: Path, out_dir: Path) -> dict:
    model, card = predictor.model, predictor.card
    n = int(probe["frame_count"])
    segments = windows(n, fps)
    # the whole-video row (the verdict) and the windows decode the video separately: one core each
    with ThreadPoolExecutor(max_workers=2) as pool:
        (tmp / "whole").mkdir()
        whole = pool.submit(predictor.feature_row, video, tmp / "whole")
        rows, strip = read_windows(video, probe, card.features_config, segments, grab=strip_frames(segments, fps, n))
        rows = pd.DataFrame(rows)
        if 4 in card.data_config.stages:
            rows = rows.join(_stage4_windows(predictor, video, segments, tmp / "windows"))
        row = whole.result()
        X = pd.DataFrame([row])[model.columns].astype("float64")
    notes, said = whole_video_fill(rows, row, model.columns)
    prob = float(model.predict_proba(X)[0, 1])
    seg_probs = model.predict_proba(rows.reindex(columns=model.columns))[:, 1]
    contrib = attribution.contributions(model.pipeline, X)
    evidence: dict[str, Any] = {"kind": "features", "method": contrib["method"], "reason": contrib["reason"],
                                "families": attribution.family_evidence(contrib), "images": []}
    if contrib["method"] is not None:
        evidence["base_value"] = float(contrib["bias"][0])
        evidence["logit"] = float(contrib["bias"][0] + contrib["values"][0].sum())
    return {"prob_fake": prob, "segments": segments, "segment_probs": seg_probs, "unit": "window",
            "evidence": evidence, "ood": training_summary.distance(card.training_summary, row),
            "segment_notes": notes, "whole_video_evidence": said, "strip": strip}


def whole_video_fill(rows: pd.DataFrame, whole: dict[str, Any], columns: list[str]) -> tuple[list[set], list[dict]]:
    """Fill, in place, the families a window could not give with the whole video's values; say which, once.

    Returns per window the family names filled, and one entry per family: the windows, the reason(s) and
    whether the whole video had the family (when it did not either, the model's imputer fills it, as it
    did for such training videos).
    """
    notes: list[set] = [set() for _ in range(len(rows))]
    said: dict[str, dict[str, Any]] = {}
    for stage in ("", "s4_"):
        col = stage + WHOLE_VIDEO
        if col not in rows.columns:
            continue
        for i, missing in enumerate(rows.pop(col)):
            for prefix, why in missing.items():
                cols = [c for c in columns if c.startswith(stage + prefix)]
                if not cols:  # the model does not use the family
                    continue
                rows.loc[i, cols] = [whole.get(c, np.nan) for c in cols]
                name = (stage + attribution.FAMILIES[prefix][0]) if prefix in attribution.FAMILIES else stage + prefix
                notes[i].add(name)
                entry = said.setdefault(name, {"family": name, "windows": [], "reasons": [],
                                               "whole_video_available": bool(np.isfinite(
                                                   pd.to_numeric(pd.Series([whole.get(c) for c in cols]),
                                                                 errors="coerce")).any())})
                entry["windows"].append(i)
                if why not in entry["reasons"]:
                    entry["reasons"].append(why)
    return notes, list(said.values())


def _stage4_windows(predictor: Predictor, video: Path, segments: list[Segment], tmp: Path) -> pd.DataFrame:
    """The same windows on the stage-3 (letterboxed) copy, as ``s4_`` columns."""
    tmp.mkdir()
    scaled, g = predictor.scaled(video, tmp)
    sprobe = probe_video(scaled)
    ns = int(sprobe["frame_count"])
    sfps = float(sprobe["fps"])
    same = []
    for s in segments:  # the same seconds in the scaled copy's frames (it may hold a frame more or less)
        lo = min(round(s.start_s * sfps), ns - 1)
        same.append(Segment(lo, max(min(round(s.end_s * sfps), ns), lo + 1), sfps))
    rows = pd.DataFrame(window_features(scaled, sprobe, predictor.card.features_config, same))
    rows["is_upscaled"], rows["is_downscaled"] = float(g.is_upscaled), float(g.is_downscaled)
    return rows.add_prefix("s4_")


def _deep(predictor: Predictor, video: Path, probe: dict, fps: float, tmp: Path, out_dir: Path) -> dict:
    scaled, g = predictor.scaled(video, tmp)
    sfps = float(probe_video(scaled)["fps"])
    logits = predictor.clip_logits(predictor.clip_inputs(scaled, g))
    prob = float(np.mean(_sigmoid(logits)))
    want = max(predictor.data.clip.clips_per_video, len(windows(int(probe["frame_count"]), fps)))
    dense = predictor.clip_inputs(scaled, g, clips_per_video=want)
    seg_probs = _sigmoid(predictor.clip_logits(dense))
    segments = clip_segments(dense.frames, dense.n_frames, sfps)
    k = int(np.argmax(seg_probs))
    evidence: dict[str, Any] = {"kind": "deep", "families": [], "images": [], "clip": k}
    batch = {kk: v.to(predictor.device) for kk, v in dense.batch.items()}
    if rollout.supports(predictor.model):  # before Grad-CAM: ViViT embeds tubelets with a Conv3d
        cam = rollout.attention_map(predictor.model, batch, k)
        method = "attention rollout (CLS token, heads averaged, residual added)"
        reading = "attention rollout: warm colours are the patches the classifying token drew on (for either verdict)"
    elif gradcam.last_conv3d(predictor.model) is not None:
        cam = gradcam.grad_cam(predictor.model, batch, k)
        method = "Grad-CAM on the last 3D convolution"
        reading = "Grad-CAM: warm colours are the regions that drove the 'fake' score"
    else:
        cam, method, reading = None, None, None
        evidence.update(method=None, reason=f"{predictor.card.name} has neither a 3D convolution nor attention")
    if cam is not None:
        evidence.update(method=method, reason=None, reading=reading, cam_shape=list(cam.shape))
        clip = dense.clips[k]
        h, w = cam.shape[1:]
        for j in np.unique(np.linspace(0, len(cam) - 1, min(CAM_FRAMES, len(cam))).round().astype(int)):
            pic = media.overlay(clip[j][:h, :w], cam[j])
            big = media.thumbnail(pic, CAM_HEIGHT)
            name = media.write_png(out_dir / f"heatmap_{j:02d}.png", big)
            evidence["images"].append({"image": name, "frame": int(dense.frames[k][j]), "time_s": dense.frames[k][j] / sfps})
    return {"prob_fake": prob, "segments": segments, "segment_probs": seg_probs, "unit": "clip",
            "evidence": evidence, "ood": _ood(predictor, video, probe)}


def _ood(predictor: Predictor, video: Path, probe: dict) -> dict:
    """The video's stage-2 features against the card's training videos (one more decode, only when there is a summary)."""
    summary = predictor.card.training_summary
    if not summary:
        return training_summary.distance(summary, {})
    return training_summary.distance(summary, video_features(video, predictor.card.features_config))
