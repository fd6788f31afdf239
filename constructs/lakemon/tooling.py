"""Quiet, correct Node tooling for everything that runs cdktf (the jsii kernel, cdktf-cli).

Why: jsii prints a red end-of-life box on every run under Node 20, and the variable meant to
silence it takes the Node *major version* (`JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20`,
a comma-separated list; `1` has no effect: @jsii/check-node compares each entry with the running
major). cdktf-cli looks up checkpoint-api.hashicorp.com on every command unless
`CHECKPOINT_DISABLE` is set, and prints `[ERROR] getaddrinfo` where that host is unreachable.

The jsii kernel reads the variable when it starts, i.e. on the first `import cdktf`/`import
jsii`: `import lakemon` before `import cdktf` (the starter app does) quiets it; a later call is
too late for this process but still right for subprocesses that get `quiet_cdktf_environment`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import MutableMapping
from functools import lru_cache

SILENCE_VARIABLE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
NODE_MAJOR_TESTED = 20
"""The Node major lakemon is tested with (README, .ci/setup and the pipeline state the same)."""
NODE_TIMEOUT_S = 10


@lru_cache(maxsize=1)
def node_major() -> int | None:
    """The major version of `node` on PATH, or None when there is none (or it does not answer)."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        done = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=NODE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(match.group(1)) if match else None


def quiet_cdktf_environment(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Add the Node major in use to the jsii silence list and disable cdktf's checkpoint calls
    in `env` (default: this process's environment). Values already set by the user are kept."""
    env = os.environ if env is None else env
    major = node_major()
    if major is not None:
        listed = [v.strip() for v in env.get(SILENCE_VARIABLE, "").split(",") if v.strip()]
        if str(major) not in listed:
            env[SILENCE_VARIABLE] = ",".join([*listed, str(major)])
    env.setdefault("CHECKPOINT_DISABLE", "1")
    return env
