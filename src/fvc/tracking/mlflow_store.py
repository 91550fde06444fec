"""Where MLflow keeps runs for a workspace, so nothing lands in the cwd.

MLflow's default is ``sqlite:///mlflow.db`` and ``./mlruns`` in whatever folder
the user stands in; runs would then scatter across folders. The workspace
owns its store: ``sqlite:///<workspace>/mlflow.db`` with artifacts in
``<workspace>/mlruns``, unless ``--tracking-uri`` or ``MLFLOW_TRACKING_URI``
point at a server.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FvcError, MissingDependencyError, StorageError
from ..workspace import Workspace

if TYPE_CHECKING:
    from mlflow import MlflowClient

ENV_URI = "MLFLOW_TRACKING_URI"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlruns"
DEFAULT_EXPERIMENT = "fvc"
WORKSPACE_TAG = "fvc.workspace"  # every run's workspace root: which runs a workspace lock covers
# Schemes whose artifacts we place in the workspace; a server decides for itself.
LOCAL_SCHEMES = ("sqlite", "file", "")


def quiet_mlflow_env() -> None:
    """No telemetry, no git-based source lookup noise: set before mlflow is imported."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def default_uri(ws: Workspace) -> str:
    return f"sqlite:///{ws.root / DB_FILE}"


def resolve_tracking_uri(ws: Workspace, override: str | None = None) -> str:
    """``--tracking-uri`` beats ``MLFLOW_TRACKING_URI`` beats the workspace's sqlite file."""
    uri = override or os.environ.get(ENV_URI) or default_uri(ws)
    if "://" not in uri and ":" not in uri[:3]:
        # A bare path means a file store folder; make it absolute so cwd never matters.
        uri = Path(uri).expanduser().resolve().as_uri()
    return uri


def scheme(uri: str) -> str:
    return uri.split(":", 1)[0] if "://" in uri else ""


def artifact_root(ws: Workspace) -> Path:
    return ws.root / ARTIFACTS_DIR


@dataclass
class TrackingStore:
    """An opened store: the client, the URI and the experiment runs go to."""

    ws: Workspace
    uri: str
    client: "MlflowClient"
    experiment_id: str
    experiment_name: str

    @property
    def is_local(self) -> bool:
        return scheme(self.uri) in LOCAL_SCHEMES


def _import_mlflow() -> Any:
    quiet_mlflow_env()
    try:
        import mlflow
    except ImportError as exc:  # pragma: no cover - mlflow is a hard dependency
        raise MissingDependencyError("mlflow is not installed; run `pip install 'mlflow>=2.12'`") from exc
    return mlflow


def open_store(ws: Workspace, uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> TrackingStore:
    """Open (creating if needed) the store and the experiment; sets MLflow's global URIs too.

    The global URIs matter because ``mlflow.pyfunc.log_model`` and
    ``models:/`` loading use the fluent API, which would otherwise fall back
    to the cwd.
    """
    mlflow = _import_mlflow()
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no "creating tables" chatter on stderr
    uri = resolve_tracking_uri(ws, uri)
    if scheme(uri) == "sqlite":
        ws.root.mkdir(parents=True, exist_ok=True)
    # mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into os.environ; put the
    # user's value back, or the next workspace opened in this process would inherit this one.
    user_env = os.environ.get(ENV_URI)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if user_env is None:
        os.environ.pop(ENV_URI, None)
    else:
        os.environ[ENV_URI] = user_env
    try:
        with _creation_lock(uri):
            client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)  # a new sqlite store migrates here
            exp = client.get_experiment_by_name(experiment)  # the first call creates and migrates the schema
            if exp is None:
                location = artifact_root(ws).as_uri() if scheme(uri) in LOCAL_SCHEMES else None
                exp_id = client.create_experiment(experiment, artifact_location=location)
            else:
                exp_id = exp.experiment_id
    except FvcError:
        raise
    except Exception as exc:  # connection refused, bad URI, locked db: one line, not a stack
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FvcError(f"MLflow tracking store {uri}: {first}") from exc
    return TrackingStore(ws=ws, uri=uri, client=client, experiment_id=exp_id, experiment_name=experiment)


@contextlib.contextmanager
def _creation_lock(uri: str) -> Iterator[None]:
    """Serialise schema creation/migration of a sqlite store across processes.

    Two processes opening a new ``mlflow.db`` at once both run MLflow's
    migrations and one of them fails on the half-made schema. An ``flock`` on
    a ``.lock`` file beside the database lets the first create it alone; the
    kernel releases it if the holder dies. Servers migrate themselves.
    """
    if scheme(uri) != "sqlite":
        yield
        return
    import fcntl

    lock = Path(uri.split(":///", 1)[1] + ".lock") if ":///" in uri else None
    if lock is None:  # sqlite:// in memory: one process only
        yield
        return
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise StorageError(lock, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def close_orphaned_runs(store: TrackingStore) -> list[str]:
    """Mark this workspace's runs still ``RUNNING`` as ``KILLED``; returns their names.

    Only a process holding the workspace lock may call this (``fvc train``,
    ``fvc run``): then no run of the workspace can be live, so a ``RUNNING``
    one was left by a killed process. Runs of other workspaces sharing the
    store are never touched.
    """
    running = store.client.search_runs([store.experiment_id], filter_string="attributes.status = 'RUNNING'",
                                       max_results=10000)
    runs = [r for r in running if r.data.tags.get(WORKSPACE_TAG) == str(store.ws.root)]  # any path, quotes too
    for run in runs:
        store.client.set_terminated(run.info.run_id, "KILLED")
    return [run.info.run_name for run in runs]
