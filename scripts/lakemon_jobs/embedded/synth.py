"""Step 1 of the run: synthesize every environment's stack and summarize it.

The CDKTF app (`stacks/app.py`) runs as a managed subprocess, exactly as `cdktf synth` runs it,
with CDKTF_OUTDIR pointing into the run folder so a run never touches the repository's
cdktf.out. The summary counts resources by type per stack from the synthesized JSON.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from lakemon.tooling import quiet_cdktf_environment

from ..project_layout import project_root
from .processes import ManagedProcess, wait_until

SYNTH_TIMEOUT_S = 300.0


class BackgroundSynth:
    """`stacks/app.py` as a managed subprocess that runs while the model trains.

    Synthesis is a Node + Python process that does not need the model, and training is
    mostly single-threaded: on 2 cores, overlapping them saves most of the synth time.
    `start()` returns at once; `wait()` collects the summary (or raises with the log's tail).
    """

    def __init__(self, app: Path, outdir: Path, log_path: Path) -> None:
        env = dict(quiet_cdktf_environment(dict(os.environ)))  # no Node EOL box, no checkpoint calls
        env["CDKTF_OUTDIR"] = str(outdir)
        self.outdir = outdir
        self.log_path = log_path
        self.process = ManagedProcess(
            [sys.executable, str(app)], name="cdktf synth", log_path=log_path, env=env, cwd=project_root(app)
        )
        self.started = 0.0
        self.finished: float | None = None

    def __enter__(self) -> BackgroundSynth:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    def start(self) -> None:
        self.started = time.perf_counter()
        self.process.start()
        popen = self.process.process
        # A watcher thread notes when synthesis really ended, not when we got round to asking.
        threading.Thread(target=self._note_end, args=(popen,), name="synth watcher", daemon=True).start()

    def _note_end(self, popen) -> None:
        popen.wait()
        self.finished = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def wait(self, timeout: float = SYNTH_TIMEOUT_S, progress=None) -> dict[str, Counter]:
        wait_until(
            lambda: self.process.exit_code() is not None,
            timeout=timeout,
            what="the stacks to synthesize",
            progress=(lambda s: progress(f"still synthesizing ({self.seconds:.0f}s)")) if progress else None,
            progress_every=5.0,
        )
        code = self.process.exit_code()
        if code != 0:
            raise RuntimeError(
                f"stacks/app.py exited with code {code}; its output ({self.log_path}) ends with:\n{self.process.log_tail()}"
            )
        return resource_counts(self.outdir)


def resource_counts(outdir: Path) -> dict[str, Counter]:
    stacks: dict[str, Counter] = {}
    for path in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        data = json.loads(path.read_text())
        stacks[path.parent.name] = Counter(
            {rtype: len(resources) for rtype, resources in (data.get("resource") or {}).items()}
        )
    if not stacks:
        raise RuntimeError(f"no stack was synthesized into {outdir}")
    return stacks


def format_summary(stacks: dict[str, Counter]) -> list[str]:
    lines = []
    for name, counts in stacks.items():
        kinds = ", ".join(f"{rtype.removeprefix('databricks_')} {n}" for rtype, n in sorted(counts.items()))
        lines.append(f"{name}: {sum(counts.values())} resources ({kinds})")
    return lines
