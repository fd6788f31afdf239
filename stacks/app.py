"""The lakemon CDK-for-Terraform app: one stack per envs/*.yml, named after the file.

Run by `cdktf synth` (cdktf.json: `.venv/bin/python stacks/app.py`) or directly:
`CDKTF_OUTDIR=cdktf.out .venv/bin/python stacks/app.py` (LAKEMON_ENVS_DIR picks another envs folder). Config errors and policy violations
end with a clear message and exit code 1, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lakemon.tooling import use_project_node

use_project_node()  # first: jsii starts Node on the first import of cdktf (the next line)

from lakemon import LakemonStack, MonitoredModel, load_environments  # noqa: E402
from lakemon.errors import user_message  # noqa: E402

if TYPE_CHECKING:
    from cdktf import App

REPO = Path(__file__).resolve().parent.parent


def build(app: App, envs_dir: Path = REPO / "envs") -> list[LakemonStack]:
    stacks = []
    for name, env in load_environments(envs_dir).items():
        stack = LakemonStack(app, env, stack_id=name)
        for model in env.models:
            MonitoredModel(stack, model.name.replace("_", "-"), env=env, model=model)
        stacks.append(stack)
    return stacks


def main() -> int:
    from cdktf import App

    try:
        app = App(outdir=os.environ.get("CDKTF_OUTDIR", str(REPO / "cdktf.out")))
        build(app, Path(os.environ.get("LAKEMON_ENVS_DIR", REPO / "envs")))
        app.synth()
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        print(f"lakemon synth failed:\n{message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
