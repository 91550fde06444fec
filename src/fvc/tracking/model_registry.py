"""Final models in the MLflow registry: log as pyfunc, register, promote, resolve.

Each refitted final model is logged as an MLflow pyfunc named ``fvc-<model_id>``
with a signature, an input example and explicit pip requirements (inferring
requirements starts a subprocess and costs seconds). Promotion puts the
``champion`` alias on the best version by CV ROC-AUC, so
``fvc predict --model models:/fvc-<id>@champion`` always means "the best one".
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FvcError, InputError
from ..models.saved import CARD_FILE, ModelCard, load_model
from ..predict import resolve_model_path
from ..workspace import Workspace
from .deep_model import FvcDeepPyfunc, deep_artifacts, deep_input_example, deep_requirements, deep_signature
from .mlflow_store import TrackingStore, open_store, quiet_mlflow_env
from .requirements import pip_requirements

quiet_mlflow_env()
import mlflow  # noqa: E402  (environment first: no telemetry)
from mlflow.pyfunc import PythonModel  # noqa: E402

PREFIX = "fvc-"
CHAMPION = "champion"
MODEL_ARTIFACT = "model"
TAG_CV_AUC = "cv_roc_auc"
MODEL_SUFFIXES = (".pt", ".joblib")


def registered_name(model_id: str) -> str:
    return f"{PREFIX}{model_id}"


class FvcPyfunc(PythonModel):
    """A fitted fvc feature model as pyfunc: feature columns in, fake probability out."""

    def load_context(self, context) -> None:
        self.model, self.card = load_model(Path(context.artifacts[MODEL_ARTIFACT]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        df = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        missing = [c for c in self.model.columns if c not in df.columns]
        if missing:
            raise FvcError(f"model input lacks feature columns {missing[:5]} ({len(missing)} missing)")
        return self.model.predict_proba(df[self.model.columns])[:, 1]


# -- logging ---------------------------------------------------------------
def _scan_installed_distributions() -> None:
    """MLflow checks pip requirements against a map of every installed distribution's files.

    Building that map once per process costs ~3 s in a large environment
    (torch, etc.) and would make the first ``log_model`` slow; the observer
    builds it in a background thread while the model trains. The scan is the
    one MLflow runs itself; a missing private helper only means no head start.
    """
    try:
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map
    except ImportError:
        return
    _init_packages_to_modules_map()


def warm_up() -> threading.Thread:
    """Start the distribution scan in a daemon thread (call at run start)."""
    thread = threading.Thread(target=_scan_installed_distributions, name="mlflow-warm-up", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def _quiet():
    """Hide MLflow's advice lines (cloudpickle, type hints) and its registry chatter ("Successfully registered
    model", "Created version"): the project prints one line per registered model instead."""
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM  # what mlflow's eprint() writes to

    log = logging.getLogger("mlflow")
    level, stream_on = log.level, MLFLOW_LOGGING_STREAM.enabled
    log.setLevel(logging.ERROR)
    MLFLOW_LOGGING_STREAM.enabled = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        log.setLevel(level)
        MLFLOW_LOGGING_STREAM.enabled = stream_on


@dataclass
class LoggedModel:
    name: str
    version: str
    model_uri: str
    seconds: float


def log_final_model(
    store: TrackingStore, run_id: str, model_id: str, model_path: Path, summary: dict[str, Any] | None = None,
    register: bool = True,
) -> LoggedModel:
    """Log a final model as pyfunc in ``run_id`` and register it as ``fvc-<model_id>``.

    ``model.joblib`` (feature models) takes feature columns; ``model.pt`` (deep
    models, 5f-5j) and the ensemble take a ``path`` column of video files. All return P(fake).
    """
    model_path = Path(model_path)
    if model_path.suffix == ".pt" or _family(model_path) == "ensemble":
        kwargs = dict(python_model=FvcDeepPyfunc(), artifacts=deep_artifacts(model_path),
                      pip_requirements=deep_requirements(), signature=deep_signature(),
                      input_example=deep_input_example())
    else:
        kwargs = _feature_model_kwargs(store.ws, model_path)
    name = registered_name(model_id)
    t0 = time.perf_counter()
    with _quiet(), mlflow.start_run(run_id=run_id, experiment_id=store.experiment_id):
        info = mlflow.pyfunc.log_model(name=MODEL_ARTIFACT, registered_model_name=name if register else None,
                                       await_registration_for=0, **kwargs)
    seconds = time.perf_counter() - t0
    version = str(info.registered_model_version) if register and info.registered_model_version else ""
    if version:
        for key, value in version_tags(model_id, run_id, summary or {}).items():
            store.client.set_model_version_tag(name, version, key, value)
    return LoggedModel(name=name, version=version, model_uri=info.model_uri, seconds=seconds)


def _family(model_path: Path) -> str:
    return ModelCard.load(model_path.with_name(CARD_FILE)).family


def version_tags(model_id: str, run_id: str, summary: dict[str, Any]) -> dict[str, str]:
    """What promotion compares: CV ROC-AUC with its spread and fold count, log loss, preset."""
    mean, std = summary.get("mean") or {}, summary.get("std") or {}

    def num(v: Any) -> str | None:
        return None if v is None or not np.isfinite(v) else f"{float(v):.6f}"

    tags = {"model_id": model_id, "config_hash": summary.get("config_hash"), "run_id": run_id,
            "family": summary.get("family"), "preset": summary.get("preset"),
            TAG_CV_AUC: num(mean.get("roc_auc")), "cv_roc_auc_std": num(std.get("roc_auc")),
            "cv_log_loss": num(mean.get("log_loss")), "n_folds": str(len(summary.get("folds") or []))}
    return {k: str(v) for k, v in tags.items() if v is not None}


def _feature_model_kwargs(ws: Workspace, model_path: Path) -> dict[str, Any]:
    """pyfunc arguments for a feature model: model and card, requirements, signature from training rows."""
    from mlflow.models import infer_signature

    model, _ = load_model(model_path)
    example = model.input_example
    signature = None
    if example is not None:
        signature = infer_signature(example, model.predict_proba(example)[:, 1])
    return dict(python_model=FvcPyfunc(), artifacts={MODEL_ARTIFACT: str(model_path),
                                                     "model_card": str(model_path.with_name(CARD_FILE))},
                pip_requirements=pip_requirements(model), signature=signature, input_example=example)


# -- promotion -------------------------------------------------------------
CANDIDATE_COLUMNS = ["name", "version", "preset", "cv_roc_auc", "cv_roc_auc_std", "n_folds", "cv_log_loss",
                     "config_hash", "run_id", "aliases"]


def candidates(store: TrackingStore, model_id: str | None = None) -> pd.DataFrame:
    """Every registered fvc model version with its CV scores, preset and aliases."""
    flt = f"name = '{registered_name(model_id)}'" if model_id else f"name LIKE '{PREFIX}%'"
    rows = []
    aliases: dict[tuple[str, str], list[str]] = {}
    for rm in store.client.search_registered_models(flt):
        for alias, version in (rm.aliases or {}).items():  # version objects from a search carry no aliases
            aliases.setdefault((rm.name, str(version)), []).append(alias)

    def num(tags: dict, key: str) -> float:
        return float(tags[key]) if tags.get(key) else np.nan

    for mv in store.client.search_model_versions(flt):
        t = mv.tags
        rows.append({"name": mv.name, "version": int(mv.version), "preset": t.get("preset") or "unknown",
                     "cv_roc_auc": num(t, TAG_CV_AUC), "cv_roc_auc_std": num(t, "cv_roc_auc_std"),
                     "n_folds": int(t["n_folds"]) if t.get("n_folds") else 0, "cv_log_loss": num(t, "cv_log_loss"),
                     "config_hash": t.get("config_hash"), "run_id": mv.run_id,
                     "aliases": ",".join(sorted(aliases.get((mv.name, str(mv.version)), [])))})
    df = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
    return df.sort_values(["cv_roc_auc", "version"], ascending=[False, False], na_position="last",
                          ignore_index=True)


def choose_champion(cands: pd.DataFrame, allow_smoke: bool = False) -> tuple[pd.Series, str]:
    """The version to promote and why.

    Smoke-preset versions never compete unless ``allow_smoke``. Versions whose
    mean CV ROC-AUC is within one standard error (std / sqrt(folds)) of the
    best are tied; the tie goes to the lowest log loss.
    """
    scored = cands.dropna(subset=["cv_roc_auc"])
    if not allow_smoke:
        scored = scored[scored["preset"] != "smoke"]
    if scored.empty:
        smoke = "" if allow_smoke else " (smoke-preset versions are left out; --allow-smoke lets them in)"
        raise FvcError(f"no registered fvc model version with a CV ROC-AUC to promote{smoke}; run `fvc train` first")
    lead = scored.iloc[0]
    se = lead["cv_roc_auc_std"] / np.sqrt(lead["n_folds"]) if lead["n_folds"] > 1 else 0.0
    se = 0.0 if not np.isfinite(se) else float(se)
    tied = scored[lead["cv_roc_auc"] - scored["cv_roc_auc"] < se] if se > 0 else scored.iloc[:1]
    if len(tied) == 1:
        return lead, (f"highest mean CV ROC-AUC {lead['cv_roc_auc']:.4f}; next best is more than one standard "
                      f"error ({se:.4f}) lower" if len(scored) > 1 else "the only candidate")
    by_loss = tied.assign(_loss=tied["cv_log_loss"].fillna(np.inf)).sort_values(["_loss", "version"],
                                                                                ascending=[True, False])
    best = by_loss.iloc[0]
    others = ", ".join(f"{r['name']} v{r['version']}" for _, r in tied.iterrows() if r.name != best.name)
    return cands.loc[best.name], (f"tied within one standard error ({se:.4f}) of the best ROC-AUC "
                                  f"{lead['cv_roc_auc']:.4f} with {others}; lowest log loss "
                                  f"{best['cv_log_loss']:.4f}")


def promote(store: TrackingStore, model_id: str | None = None, alias: str = CHAMPION,
            allow_smoke: bool = False) -> dict[str, Any]:
    """Set ``alias`` on the version :func:`choose_champion` picks; remove it from the other fvc models.

    With ``model_id`` only that model's versions compete (and other models keep their alias).
    """
    cands = candidates(store, model_id)
    if cands.empty:
        what = f"model '{registered_name(model_id)}'" if model_id else "fvc model"
        raise FvcError(f"no registered {what} version; run `fvc train` first")
    best, reason = choose_champion(cands, allow_smoke)
    store.client.set_registered_model_alias(best["name"], alias, str(best["version"]))
    if model_id is None:
        for name in set(cands["name"]) - {best["name"]}:
            try:
                store.client.delete_registered_model_alias(name, alias)
            except mlflow.exceptions.MlflowException:
                pass  # that model never had the alias
    return {"name": best["name"], "version": int(best["version"]), "cv_roc_auc": float(best["cv_roc_auc"]),
            "preset": best["preset"], "reason": reason, "alias": alias, "uri": f"models:/{best['name']}@{alias}",
            "candidates": candidates(store, model_id)}


# -- resolution ------------------------------------------------------------
def is_model_uri(text: str) -> bool:
    return str(text).startswith(("models:/", "runs:/"))


@dataclass
class ResolvedModel:
    uri: str
    name: str | None
    version: str | None
    model_id: str | None
    local_dir: Path
    model_path: Path

    def load_pyfunc(self):
        return mlflow.pyfunc.load_model(str(self.local_dir))


def resolve_model_uri(store: TrackingStore, uri: str) -> ResolvedModel:
    """Download a ``models:/fvc-<id>@alias`` (or ``/version``, ``runs:/``) model into the workspace cache."""
    name = version = None
    if uri.startswith("models:/"):
        ref = uri[len("models:/"):]
        name, sep, rest = ref.partition("@") if "@" in ref else ref.partition("/")
        try:
            mv = (store.client.get_model_version_by_alias(name, rest) if sep == "@"
                  else store.client.get_model_version(name, rest))
        except mlflow.exceptions.MlflowException as exc:
            first = str(exc).strip().splitlines()[0]
            raise InputError(uri, f"not in the registry at {store.uri} ({first})") from None
        version = str(mv.version)
    dest = store.ws.cache_dir / "mlflow-models" / (f"{name}-v{version}" if name else uri.replace("/", "_").replace(":", ""))
    if not (dest / "MLmodel").exists():
        dest.mkdir(parents=True, exist_ok=True)
        try:
            mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest))
        except mlflow.exceptions.MlflowException as exc:
            raise InputError(uri, f"cannot download model ({str(exc).strip().splitlines()[0]})") from None
    found = sorted(dest.rglob("MLmodel"))
    if not found:
        raise InputError(uri, "downloaded artifacts hold no MLmodel file")
    local = found[0].parent
    files = sorted((local / "artifacts").glob("*")) if (local / "artifacts").exists() else []
    # model.pt / model.joblib before model.json: predict loads the weights file and finds its card beside it.
    files.sort(key=lambda f: (f.suffix not in MODEL_SUFFIXES, f.name))
    if not files or files[0].suffix not in MODEL_SUFFIXES:
        raise InputError(uri, "the logged model has no model.pt or model.joblib under artifacts/")
    model_id = name[len(PREFIX):] if name and name.startswith(PREFIX) else None
    meta_path = local / "artifacts" / "model.json"
    if model_id is None and meta_path.exists():
        model_id = json.loads(meta_path.read_text()).get("model_id")
    return ResolvedModel(uri=uri, name=name, version=version, model_id=model_id, local_dir=local,
                         model_path=files[0])


def resolve_model_ref(ws: Workspace, ref: str, tracking_uri: str | None = None) -> Path:
    """The local model file for ``--model``: a registry URI (downloaded into the workspace cache), else a
    model id, run folder or model file as :func:`fvc.predict.resolve_model_path` reads them."""
    if not is_model_uri(ref):
        return resolve_model_path(ref, ws)
    return resolve_model_uri(open_store(ws, tracking_uri), ref).model_path
