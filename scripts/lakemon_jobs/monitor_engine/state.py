"""What a refresh keeps between runs, under <root>/monitor_state/<inference table>/.

- the baseline profile (summaries and PSI edges as JSON, sorted values and category counts as
  .npy files, memory-mapped on load), valid while the baseline table's Delta id and version and the
  monitor settings are unchanged: a steady-state refresh neither reads nor sorts the baseline;
- per granularity and window, a fingerprint of its rows: only windows whose fingerprint
  changed are recomputed.
Every file is written under a fresh name and published by an atomic rename, so a crash leaves
either the old state or the new one, never half of each.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from pathlib import Path

import numpy as np

from lakemon.contract.statistics import CATEGORICAL, NUMERIC

from .baselines import BaselineProfile
from .columns import ColumnState
from .groups import Group
from .prepare import Vocabulary
from .settings import ColumnSpec
from .stats import SortedSample

BASELINE_POINTER = "baseline.json"
WINDOWS_FILE = "windows.json"


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class BaselineWriter:
    """Stores a baseline profile column by column (`baselines.build_baseline`'s sink, called from
    worker threads), so its sorted values never all sit in memory; `commit` publishes it."""

    def __init__(self, state_dir: Path, fingerprint: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir, self.fingerprint = state_dir, fingerprint
        self.folder = state_dir / f"baseline-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir()
        self._arrays: dict[tuple[tuple, str], dict] = {}
        self._lock = threading.Lock()

    def add_column(self, name: str, states: dict[tuple, ColumnState]) -> None:
        """Write the arrays of one column's states (a state shared by several groups once, under
        the first group: a parent comes before the groups that share its rows)."""
        written: set[int] = set()
        for key, st in states.items():
            if id(st) in written:
                continue
            written.add(id(st))
            with self._lock:
                file = f"a{len(self._arrays)}.npy"
                self._arrays[(tuple(key), name)] = entry = {"array": file}
            np.save(self.folder / file, st.sample.values if st.kind == NUMERIC else st.counts)
            if st.kind == NUMERIC:  # exact floats survive JSON (repr round-trips)
                entry["psi_edges"] = st.sample.psi_edges().tolist()

    def commit(self, profile: BaselineProfile) -> None:
        """Write the profile's metadata and point the state at this folder (atomic rename), then
        delete the folder it replaces."""
        groups = []
        for key, g in profile.groups.items():
            states = {}
            for name, st in g.states.items():
                entry = {"kind": st.kind, "summary": st.summary}
                if g.same_as is None:
                    entry.update(self._arrays[(tuple(key), name)])
                states[name] = entry
            groups.append({"key": list(key), "same_as": list(g.same_as) if g.same_as else None,
                           "table_row": g.table_row, "states": states, "n": g.n})
        meta = {
            "fingerprint": self.fingerprint,
            "specs": [[s.name, s.kind, s.data_type] for s in profile.specs],
            "vocabs": {k: {"values": v.values, "is_string": v.is_string} for k, v in profile.vocabs.items()},
            "present": sorted(profile.present),
            "groups": groups,
        }
        (self.folder / "profile.json").write_text(json.dumps(meta))
        old = _read_json(self.state_dir / BASELINE_POINTER)
        _write_json_atomic(self.state_dir / BASELINE_POINTER, {"folder": self.folder.name, "fingerprint": self.fingerprint})
        if old and old.get("folder") and old["folder"] != self.folder.name:
            shutil.rmtree(self.state_dir / old["folder"], ignore_errors=True)

    def discard(self) -> None:
        """Remove the folder of a profile that will not be committed (the refresh failed)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def load_baseline(state_dir: Path, fingerprint: str) -> BaselineProfile | None:
    """The stored baseline profile, or None when absent, unreadable or stale."""
    pointer = _read_json(state_dir / BASELINE_POINTER)
    if not pointer or pointer.get("fingerprint") != fingerprint:
        return None
    folder = state_dir / pointer["folder"]
    meta = _read_json(folder / "profile.json")
    if not meta or meta.get("fingerprint") != fingerprint:
        return None
    try:
        groups: dict = {}
        for entry in meta["groups"]:
            key = tuple(entry["key"])
            same = tuple(entry["same_as"]) if entry["same_as"] else None
            g = Group(key, None, same_as=same, table_row=entry["table_row"], n=entry["n"])
            if same is None:
                for name, st in entry["states"].items():
                    # a plain ndarray view of the mapping: np.memmap's own indexing is slower
                    arr = np.load(folder / st["array"], mmap_mode="r").view(np.ndarray)
                    if st["kind"] == NUMERIC:
                        sample = SortedSample(arr)
                        if "psi_edges" in st:  # else computed on first use
                            sample._edges = np.asarray(st["psi_edges"], dtype=np.float64)
                        g.states[name] = ColumnState(NUMERIC, st["summary"], sample=sample)
                    else:
                        g.states[name] = ColumnState(CATEGORICAL, st["summary"], counts=np.asarray(arr))
            else:
                g.states = groups[same].states
            groups[key] = g
    except (OSError, ValueError, KeyError):
        return None
    specs = [ColumnSpec(*s) for s in meta["specs"]]
    vocabs = {k: Vocabulary(list(v["values"]), v["is_string"]) for k, v in meta["vocabs"].items()}
    return BaselineProfile(specs, vocabs, groups, set(meta["present"]))


def load_windows(state_dir: Path) -> dict:
    return _read_json(state_dir / WINDOWS_FILE) or {}


def save_windows(state_dir: Path, data: dict) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(state_dir / WINDOWS_FILE, data)
