"""Which models the app may load: the default plus the trained and registered ones, each by a reference
string the client can send back (model ids and registry URIs, never paths)."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import FvcError
from ..models.saved import CARD_FILE, ModelCard
from ..predict import Predictor
from ..tracking.mlflow_store import open_store
from ..tracking.model_registry import CHAMPION, candidates, resolve_model_ref
from ..workspace import Workspace


def champion_ref(ws: Workspace) -> str:
    """``models:/fvc-<id>@champion`` of the registry's champion; FvcError when none is promoted."""
    cands = candidates(open_store(ws))
    held = cands[cands["aliases"].str.split(",").apply(lambda a: CHAMPION in a)] if not cands.empty else cands
    if held.empty:
        raise FvcError(f"no model holds the '{CHAMPION}' alias in {ws.root}; run 'fvc promote' or pass --model")
    return f"models:/{held.iloc[0]['name']}@{CHAMPION}"


class ModelCatalog:
    """Loaded Predictors by reference; unknown references raise KeyError (the API answers 404)."""

    def __init__(self, ws: Workspace, default: str | None = None, threshold: float = 0.5):
        self.ws, self.threshold = ws, threshold
        self.default = default or champion_ref(ws)
        self._loaded: dict[str, Predictor] = {}
        self._lock = threading.Lock()

    def _trained(self) -> list[dict[str, Any]]:
        rows = []
        if self.ws.results_dir.exists():
            for card_path in sorted(self.ws.results_dir.glob(f"*/{CARD_FILE}")):
                try:
                    card = ModelCard.load(card_path)
                except FvcError:
                    continue  # a card from an older schema: not offered, `fvc train` says why when it is used
                rows.append({"ref": card_path.parent.name, "model_id": card.model_id, "name": card.name,
                             "family": card.family, "preset": card.preset, "cv_roc_auc": card.cv.get("roc_auc"),
                             "cv_roc_auc_std": card.cv.get("roc_auc_std"), "source": "results"})
        return rows

    def _registered(self) -> list[dict[str, Any]]:
        rows = []
        for _, c in candidates(open_store(self.ws)).iterrows():
            ref = f"models:/{c['name']}/{c['version']}"
            rows.append({"ref": ref, "model_id": c["name"].removeprefix("fvc-"), "name": c["name"],
                         "version": int(c["version"]), "aliases": c["aliases"], "preset": c["preset"],
                         "cv_roc_auc": c["cv_roc_auc"], "cv_roc_auc_std": c["cv_roc_auc_std"], "source": "registry"})
            for alias in filter(None, c["aliases"].split(",")):
                rows.append({**rows[-1], "ref": f"models:/{c['name']}@{alias}"})
        return rows

    def listing(self) -> list[dict[str, Any]]:
        return self._trained() + self._registered()

    def get(self, ref: str) -> Predictor:
        with self._lock:
            if ref in self._loaded:
                return self._loaded[ref]
            if ref != self.default and ref not in {m["ref"] for m in self.listing()}:
                raise KeyError(ref)
            pred = Predictor(resolve_model_ref(self.ws, ref), threshold=self.threshold)
            self._loaded[ref] = pred
            return pred
