"""Final models in the MLflow registry: log as pyfunc, register, promote, resolve.

Each refitted final model is logged as an MLflow pyfunc named ``fvc-<model_id>``
with a signature, an input example and explicit pip requirements (inferring
requirements starts a subprocess and costs seconds). Promotion puts the
``champion`` alias on the best version by CV ROC-AUC, so
``fvc predict --model models:/fvc-<id>@champion`` always means "the best one".
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
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
from ..workspace import Workspace
from .mlflow_store import TrackingStore, quiet_mlflow_env

quiet_mlflow_env()
import mlflow  # noqa: E402  (environment first: no telemetry)
from mlflow.pyfunc import PythonModel  # noqa: E402

PREFIX = "fvc-"
CHAMPION = "champion"
MODEL_ARTIFACT = "model"
TAG_CV_AUC = "cv_roc_auc"
MODEL_SUFFIXES = (".pt", ".joblib")
BASE_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "pyarrow", "joblib", "scipy")
# Libraries a pickled estimator may reference, by top-level module -> distribution.
OPTIONAL_REQUIREMENTS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost", "torch": "torch"}


def registered_name(model_id: str) -> str:
    return f"{PREFIX}{model_id}"


class FvcPyfunc(PythonModel):
    """A fitted fvc feature model as pyfunc: feature columns in, fake probability out.

    The DataFrame type hint tells MLflow validation is by the logged signature.
    """

    def load_context(self, context) -> None:
        import joblib

        self.model = joblib.load(context.artifacts[MODEL_ARTIFACT])
        self.columns = model_columns(self.model)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        df = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if self.columns:
            missing = [c for c in self.columns if c not in df.columns]
            if missing:
                raise FvcError(f"model input lacks feature columns {missing[:5]} ({len(missing)} missing)")
            df = df[self.columns]
        return fake_proba(self.model, df)


def model_columns(model: Any) -> list[str]:
    """Feature columns a final model expects (fvc's FeatureModel.columns or sklearn's names)."""
    for attr in ("columns", "feature_names_in_"):
        value = getattr(model, attr, None)
        if value is not None and len(value):
            return [str(c) for c in value]
    return []


def fake_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """P(fake) as a 1-D float array, whether predict_proba gives one column (FeatureModel) or two (sklearn)."""
    p = np.asarray(model.predict_proba(X), dtype="float64")
    return p[:, 1] if p.ndim == 2 else p


# -- logging ---------------------------------------------------------------
def _estimators(obj: Any, seen: set[int] | None = None):
    """The object and every estimator nested in it through sklearn's get_params."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if hasattr(obj, "pipeline"):  # fvc FeatureModel bundle
        yield from _estimators(obj.pipeline, seen)
    if hasattr(obj, "get_params"):
        try:
            params = obj.get_params(deep=True)
        except Exception:  # third-party estimators with broken get_params
            return
        for value in params.values():
            if hasattr(value, "fit") or hasattr(value, "get_params"):
                yield from _estimators(value, seen)


def pip_requirements(model: Any = None) -> list[str]:
    """Pinned requirements of the running environment for the libraries the model uses."""
    names = list(BASE_REQUIREMENTS)
    if model is not None:
        roots = {type(o).__module__.split(".")[0] for o in _estimators(model)}
        names += [dist for mod, dist in OPTIONAL_REQUIREMENTS.items() if mod in roots]
    return pinned_requirements(names)


def pinned_requirements(names: list[str]) -> list[str]:
    """``name==version`` for each installed distribution of ``names``, plus fvc-detect itself.

    Explicit pins keep ``log_model`` fast (no requirement inference) and the
    served model on the versions it was trained with.
    """
    reqs = []
    for name in [*names, "fvc-detect"]:
        try:
            reqs.append(f"{name}=={md.version(name)}")
        except md.PackageNotFoundError:
            continue
    return reqs


def input_example(ws: Workspace, model: Any, n: int = 3) -> pd.DataFrame | None:
    """A few real training rows with the columns the model was fitted on.

    fvc feature models are fed by ``load_feature_data`` (stage-4 columns get an
    ``s4_`` prefix), so the example comes from that same function.
    """
    columns = model_columns(model)
    if not columns:
        return None
    stages = list(getattr(model, "stages", None) or [2])
    try:
        from ..training.cv import load_feature_data

        X = load_feature_data(ws, stages).X
    except (ImportError, InputError):
        return None
    if not set(columns) <= set(X.columns):
        return None
    return X[columns].head(n).reset_index(drop=True).astype("float64")


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
    """Hide MLflow's advice lines (cloudpickle, type hints, 'registered model'): they are not actionable here."""
    log = logging.getLogger("mlflow")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        log.setLevel(level)


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
    models) takes a ``path`` column of video files. Both return P(fake).
    """
    model_path = Path(model_path)
    if model_path.suffix == ".pt":
        from .deep_model import (FvcDeepPyfunc, deep_artifacts, deep_input_example, deep_requirements,
                                 deep_signature)

        kwargs = dict(python_model=FvcDeepPyfunc(), artifacts=deep_artifacts(store.ws, model_path, run_id),
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
        summary = summary or {}
        auc = (summary.get("mean") or {}).get("roc_auc")
        tags = {"model_id": model_id, "config_hash": summary.get("config_hash"), "run_id": run_id,
                "family": summary.get("family"),
                TAG_CV_AUC: None if auc is None or not np.isfinite(auc) else f"{float(auc):.6f}"}
        for key, value in tags.items():
            if value is not None:
                store.client.set_model_version_tag(name, version, key, str(value))
    return LoggedModel(name=name, version=version, model_uri=info.model_uri, seconds=seconds)


def _feature_model_kwargs(ws: Workspace, model_path: Path) -> dict[str, Any]:
    """pyfunc arguments for a feature model's joblib: artifact, requirements, signature from real rows."""
    import joblib

    if not model_path.exists():
        raise InputError(model_path, "final model file not found; cannot log it to MLflow")
    try:
        model = joblib.load(model_path)
    except Exception as exc:
        raise InputError(model_path, f"cannot load final model ({type(exc).__name__}: {exc})") from exc
    if not hasattr(model, "predict_proba"):
        raise InputError(model_path, f"final model ({type(model).__name__}) has no predict_proba")
    example = input_example(ws, model)
    signature = None
    if example is not None:
        from mlflow.models import infer_signature

        signature = infer_signature(example, fake_proba(model, example))
    return dict(python_model=FvcPyfunc(), artifacts={MODEL_ARTIFACT: str(model_path)},
                pip_requirements=pip_requirements(model), signature=signature, input_example=example)


# -- promotion -------------------------------------------------------------
def candidates(store: TrackingStore, model_id: str | None = None) -> pd.DataFrame:
    """Every registered fvc model version with its CV ROC-AUC and aliases."""
    flt = f"name = '{registered_name(model_id)}'" if model_id else f"name LIKE '{PREFIX}%'"
    rows = []
    aliases: dict[tuple[str, str], list[str]] = {}
    for rm in store.client.search_registered_models(flt):
        for alias, version in (rm.aliases or {}).items():  # version objects from a search carry no aliases
            aliases.setdefault((rm.name, str(version)), []).append(alias)
    for mv in store.client.search_model_versions(flt):
        auc = mv.tags.get(TAG_CV_AUC)
        rows.append({"name": mv.name, "version": int(mv.version), "cv_roc_auc": float(auc) if auc else np.nan,
                     "config_hash": mv.tags.get("config_hash"), "run_id": mv.run_id,
                     "aliases": ",".join(sorted(aliases.get((mv.name, str(mv.version)), [])))})
    df = pd.DataFrame(rows, columns=["name", "version", "cv_roc_auc", "config_hash", "run_id", "aliases"])
    return df.sort_values(["cv_roc_auc", "version"], ascending=[False, False], na_position="last",
                          ignore_index=True)


def promote(store: TrackingStore, model_id: str | None = None, alias: str = CHAMPION) -> dict[str, Any]:
    """Set ``alias`` on the best version by CV ROC-AUC; remove it from the other fvc models.

    With ``model_id`` only that model's versions compete (and other models keep their alias).
    """
    cands = candidates(store, model_id)
    scored = cands.dropna(subset=["cv_roc_auc"])
    if scored.empty:
        what = f"model '{registered_name(model_id)}'" if model_id else "fvc model"
        raise FvcError(f"no registered {what} version with a CV ROC-AUC; run `fvc train` first")
    best = scored.iloc[0]
    store.client.set_registered_model_alias(best["name"], alias, str(best["version"]))
    if model_id is None:
        for name in set(cands["name"]) - {best["name"]}:
            try:
                store.client.delete_registered_model_alias(name, alias)
            except mlflow.exceptions.MlflowException:
                pass  # that model never had the alias
    return {"name": best["name"], "version": int(best["version"]), "cv_roc_auc": float(best["cv_roc_auc"]),
            "alias": alias, "uri": f"models:/{best['name']}@{alias}", "candidates": candidates(store, model_id)}


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
    # model.pt / model.joblib before model.json and fvc_config.yaml: predict loads the weights file.
    files.sort(key=lambda f: (f.suffix not in MODEL_SUFFIXES, f.name))
    if not files or files[0].suffix not in MODEL_SUFFIXES:
        raise InputError(uri, "the logged model has no model.pt or model.joblib under artifacts/")
    model_id = name[len(PREFIX):] if name and name.startswith(PREFIX) else None
    meta_path = local / "artifacts" / "model.json"
    if model_id is None and meta_path.exists():
        model_id = json.loads(meta_path.read_text()).get("model_id")
    return ResolvedModel(uri=uri, name=name, version=version, model_id=model_id, local_dir=local,
                         model_path=files[0])


def resolve_model_path(ws: Workspace, model: str, tracking_uri: str | None = None) -> Path | None:
    """Hook for ``fvc predict --model``: a ``models:/``/``runs:/`` URI -> the local model file; else None.

    The file is the same ``model.joblib`` or ``model.pt`` ``fvc train`` saved,
    downloaded into ``<workspace>/cache/mlflow-models``, so prediction code
    loads it as usual.
    """
    if not is_model_uri(model):
        return None
    from .mlflow_store import open_store

    return resolve_model_uri(open_store(ws, tracking_uri), model).model_path
