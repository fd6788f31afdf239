"""The Node that cdktf runs on, and cdktf's quiet mode, for everything that runs cdktf (the jsii
kernel started by `import cdktf`, cdktf-cli).

Why: Node 20 reached its end of life (jsii prints a red end-of-life box on every run under it).
lakemon runs cdktf on a supported Node LTS, 22, without a system install: package.json pins the
npm registry's `node` package (22.x), which `npm ci` installs as `node_modules/node/bin/node`
next to cdktf-cli (this repository and every `lakemon init` project). `npx cdktf ...` puts
`node_modules/.bin` first on PATH, so cdktf-cli and the app it starts find that Node. A Python
process that imports cdktf directly (tests, `python app.py`) finds it through `JSII_NODE`, the
variable jsii's Python runtime reads for the Node executable (jsii/_kernel/providers/process.py),
set here when the project has that Node and the variable is unset. No end-of-life notice is
silenced: nothing that runs is end-of-life.

cdktf-cli looks up checkpoint-api.hashicorp.com on every command unless `CHECKPOINT_DISABLE` is
set, and prints `[ERROR] getaddrinfo` where that host is unreachable: it is set (unless the user
set it).

The jsii kernel reads `JSII_NODE` when it starts, i.e. on the first `import cdktf`/`import jsii`.
Importing lakemon changes nothing (a library import leaves the process alone): an app calls
`use_project_node()` before its first import of cdktf (stacks/app.py and the starter's app.py do,
first thing); a later call is too late for this process but still right for subprocesses that
get `quiet_cdktf_environment`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import MutableMapping
from pathlib import Path

NODE_MAJOR_TESTED = 22
"""The Node major lakemon runs cdktf on (package.json's `node`, .ci/setup, README and the
pipeline's NodeTool state the same; a test keeps them equal)."""
JSII_NODE = "JSII_NODE"
NODE_TIMEOUT_S = 10


def project_node(folder: Path | None = None) -> Path | None:
    """`node_modules/node/bin/node` (the npm `node` package) of the project in `folder` (default:
    the working directory), else of lakemon's own source tree, else None."""
    candidates = [Path.cwd() if folder is None else Path(folder)]
    from .wheel import source_root

    root = source_root()
    if root is not None:
        candidates.append(root)
    for base in candidates:
        node = base / "node_modules" / "node" / "bin" / "node"
        if node.is_file() and os.access(node, os.X_OK):
            return node.resolve()
    return None


def node_executable(env: MutableMapping[str, str] | None = None) -> str | None:
    """The Node cdktf would run on with `env`: $JSII_NODE, else `node` on its PATH."""
    env = os.environ if env is None else env
    return env.get(JSII_NODE) or shutil.which("node", path=env.get("PATH"))


def node_major(env: MutableMapping[str, str] | None = None) -> int | None:
    """The major version of `node_executable(env)`, or None when there is none (or it does not answer)."""
    node = node_executable(env)
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


def use_project_node(folder: Path | None = None) -> None:
    """This process runs cdktf on the project's Node, without checkpoint calls: the app's first
    call, before anything imports cdktf (jsii reads `JSII_NODE` once, when it starts Node)."""
    quiet_cdktf_environment(folder=folder)


def quiet_cdktf_environment(
    env: MutableMapping[str, str] | None = None, *, folder: Path | None = None
) -> MutableMapping[str, str]:
    """Point `env` (default: this process's environment) at the project's Node (`JSII_NODE`, and
    its folder first on PATH for cdktf-cli's `#!/usr/bin/env node`) when there is one, and
    disable cdktf's checkpoint calls. Values the user set are kept."""
    env = os.environ if env is None else env
    node = project_node(folder)
    if node is not None and JSII_NODE not in env:
        env[JSII_NODE] = str(node)
        path = env.get("PATH", "")
        if path.split(os.pathsep)[0] != str(node.parent):
            env["PATH"] = os.pathsep.join([str(node.parent), *([path] if path else [])])
    env.setdefault("CHECKPOINT_DISABLE", "1")
    return env
