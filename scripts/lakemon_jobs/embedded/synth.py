"""Step 1 of the run: synthesize every environment's stack and summarize it.

The CDKTF app (`stacks/app.py`) runs as a managed subprocess, exactly as `cdktf synth` runs it,
with CDKTF_OUTDIR pointing into the run folder so a run never touches the repository's
cdktf.out. The summary counts resources by type per stack from the synthesized JSON.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from .processes import ManagedProcess, wait_until

SYNTH_TIMEOUT_S = 300.0


def find_app(env_file: Path) -> Path | None:
    """`stacks/app.py` of the repository the env file lives in (envs/<env>.yml), else of the
    current directory (an env file kept elsewhere), else None."""
    for root in (env_file.resolve().parent.parent, Path.cwd()):
        candidate = root / "stacks" / "app.py"
        if candidate.is_file():
            return candidate
    return None


def synthesize(app: Path, outdir: Path, log_path: Path, progress=None) -> dict[str, Counter]:
    """Run the app into `outdir`; return {stack: Counter(resource type -> count)}."""
    env = dict(os.environ)
    env["CDKTF_OUTDIR"] = str(outdir)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
    env.setdefault("CHECKPOINT_DISABLE", "1")
    with ManagedProcess(
        [sys.executable, str(app)], name="cdktf synth", log_path=log_path, env=env, cwd=app.parent.parent
    ) as proc:
        wait_until(
            lambda: proc.exit_code() is not None,
            timeout=SYNTH_TIMEOUT_S,
            what="the stacks to synthesize",
            progress=(lambda s: progress(f"synthesizing ({s:.0f}s)")) if progress else None,
            progress_every=5.0,
        )
        if proc.exit_code() != 0:
            raise RuntimeError(
                f"stacks/app.py exited with code {proc.exit_code()}; its output ({log_path}) ends with:\n{proc.log_tail()}"
            )
    return resource_counts(outdir)


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
