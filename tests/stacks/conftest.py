"""Synthesize the repo's app ONCE per session, the way `cdktf synth` does (python stacks/app.py
with CDKTF_OUTDIR), and share the JSON of each stack with every stack test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENVS = ("dev", "aut", "prod")


@pytest.fixture(scope="session")
def synth_outdir(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("cdktf") / "cdktf.out"
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}  # stacks/app.py quiets Node itself (lakemon.tooling)
    env["TMPDIR"] = str(outdir.parent)
    result = subprocess.run(
        [sys.executable, "stacks/app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "end-of-life" not in result.stderr, "jsii's Node banner was not silenced"
    return outdir


@pytest.fixture(scope="session")
def stacks(synth_outdir) -> dict[str, dict]:
    return {name: json.loads((synth_outdir / "stacks" / name / "cdk.tf.json").read_text()) for name in ENVS}


@pytest.fixture(scope="session")
def stack_texts(synth_outdir) -> dict[str, str]:
    return {name: (synth_outdir / "stacks" / name / "cdk.tf.json").read_text() for name in ENVS}
