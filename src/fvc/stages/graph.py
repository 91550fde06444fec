"""Declared stages and the one freshness key.

Each stage declares, next to its code, the tables it reads, the table it
writes, the ``fvc.yaml`` sections it reads and a version (in the spirit of
Kedro's nodes). The order of ``fvc run``, ``--from/--to``, ``fvc status``
and whether a table or a row is up to date all derive from that.

The freshness key of a stage is ``hash(version, hash of its config
sections, content keys of its inputs)``; it is stored in the footer of the
table the stage writes. A per-video stage keys each row the same way, with
the row's input values (which carry the upstream row's key) in place of the
input tables, so a row is redone exactly when something it was computed from
changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import FvcConfig, stable_hash
from ..workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

UP_TO_DATE, STALE, MISSING = "up to date", "stale", "missing"


@dataclass(frozen=True)
class Freshness:
    state: str  # up to date, stale, missing
    reasons: list[str] = field(default_factory=list)
    rows: int | None = None
    failed: int = 0


@dataclass(frozen=True)
class Stage:
    """A pipeline node: the tables it reads, the one it writes, the config it depends on."""

    name: str  # the name of fvc run --from/--to and fvc status
    output: str  # the table it writes
    inputs: tuple[str, ...] = ()  # the tables it reads
    config: tuple[str, ...] = ()  # the fvc.yaml sections it reads
    version: str = "1"  # bump when a code change changes the output
    per_video: bool = False  # one part file per input row; runs on the executor
    files: str | None = None  # folder under stages/ for the files it writes (videos)

    def config_key(self, cfg: FvcConfig) -> str:
        return cfg.section_hash(*self.config) if self.config else "none"

    def record(self, ws: Workspace, cfg: FvcConfig, inputs: dict[str, str] | None = None) -> dict[str, Any]:
        """The freshness record of the stage's output as it would be written now."""
        rec: dict[str, Any] = {"stage": self.name, "version": self.version, "config": self.config_key(cfg),
                               "inputs": dict(inputs) if inputs is not None else ws.fingerprints(self.inputs)}
        rec["key"] = stable_hash(rec, length=16)
        return rec

    def row_key(self, config_key: str, row: dict[str, Any]) -> str:
        """The freshness key of one row: the stage's version and config with the row's input values."""
        return stable_hash({"stage": self.name, "version": self.version, "config": config_key, "row": row},
                           length=16)

    def write(self, ws: Workspace, cfg: FvcConfig, df: "pd.DataFrame",
              inputs: dict[str, str] | None = None, rows_key: str | None = None) -> Path:
        """Write the output table with its freshness record (and its row and failure counts).

        ``rows_key`` (per-video stages) is the hash of every row's key: the
        table-level form of the row keys it was made from.
        """
        rec = self.record(ws, cfg, inputs)
        if rows_key is not None:
            rec["rows_key"] = rows_key
        rec["rows"] = len(df)
        rec["failed"] = int(df["error"].notna().sum()) if "error" in df.columns else 0
        return ws.write(self.output, df, stage=rec)

    def freshness(self, ws: Workspace, cfg: FvcConfig) -> Freshness:
        """Whether the output table is up to date, and if not, why."""
        if not ws.has(self.output):
            return Freshness(MISSING, [f"no table '{self.output}'"])
        stored = ws.stage_record(self.output)
        if stored is None:
            return Freshness(STALE, [f"table '{self.output}' has no freshness record (written by an older fvc)"])
        want = self.record(ws, cfg)
        reasons = []
        if stored.get("version") != want["version"]:
            reasons.append(f"stage version {stored.get('version')} -> {want['version']}")
        if stored.get("config") != want["config"]:
            reasons.append(f"config {', '.join(self.config)} changed")
        had = stored.get("inputs", {})
        for name in self.inputs:
            if had.get(name) != want["inputs"][name]:
                reasons.append(f"input '{name}' " + ("is missing" if want["inputs"][name] == "missing" else "changed"))
        return Freshness(STALE if reasons else UP_TO_DATE, reasons, stored.get("rows"), int(stored.get("failed", 0)))


def order(stages: list[Stage]) -> list[Stage]:
    """Stages sorted so each comes after the stages writing its inputs; ties keep the listed order."""
    writer = {s.output: s.name for s in stages}
    if len(writer) != len(stages):
        raise ValueError("two stages declare the same output table")
    needs = {s.name: {writer[t] for t in s.inputs if t in writer and writer[t] != s.name} for s in stages}
    done: list[Stage] = []
    left = list(stages)
    while left:
        ready = next((s for s in left if needs[s.name] <= {d.name for d in done}), None)
        if ready is None:
            raise ValueError(f"the stage graph has a cycle among {', '.join(s.name for s in left)}")
        done.append(ready)
        left.remove(ready)
    return done


def upstream(stages: list[Stage], name: str) -> list[str]:
    """Names of the stages whose outputs ``name`` reads (direct parents)."""
    by = {s.name: s for s in stages}
    writer = {s.output: s.name for s in stages}
    return [writer[t] for t in by[name].inputs if t in writer]
