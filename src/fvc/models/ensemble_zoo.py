"""``ens``: the mean of other catalog models' fake probabilities, per source video.

The members are ordinary entries, each cross-validated by its own adapter
in its own run folder; the ensemble averages, fold by fold, what the members
predicted for that fold's test videos (no learned weights, so nothing is
fitted on the outer test fold). ``members`` is the builder's one argument.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError
from .catalog import DataConfig, ModelEntry, get_model, register_model

DEFAULT_MEMBERS = ("5a", "5beta-xgb")


def mean_ensemble(*, members: Sequence[str] | str = DEFAULT_MEMBERS) -> tuple[str, ...]:
    """The members' catalog ids, checked: known, distinct, no ensemble inside an ensemble, at least two."""
    refs = [m.strip() for m in (members.split(",") if isinstance(members, str) else members) if str(m).strip()]
    ids = tuple(get_model(m).id for m in refs)  # unknown -> InputError listing the known ids
    nested = [m for m in ids if get_model(m).family == "ensemble"]
    if nested:
        raise InputError("--members", f"an ensemble cannot hold an ensemble ({', '.join(nested)})")
    if len(set(ids)) != len(ids) or len(ids) < 2:
        raise InputError("--members", f"give at least two distinct models, got {', '.join(ids) or 'none'}")
    return ids


register_model(ModelEntry(
    "ens", "mean ensemble", "ensemble", mean_ensemble,
    {"smoke": {"model": {"members": DEFAULT_MEMBERS}}, "full": {"model": {"members": DEFAULT_MEMBERS}}},
    DataConfig(kind="ensemble"), "Mean of the members' probabilities (members run at the ensemble's preset "
    "where they have it)", paper="Dietterich 2000 (ensembles)", year=2000, aliases=("ensemble",)))
