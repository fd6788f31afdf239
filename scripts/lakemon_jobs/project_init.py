"""`lakemon init <folder>`: write a starter project (see `lakemon.starter`).

Runs with the construct library alone (no [jobs] extra): it only renders the templates
shipped in the wheel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lakemon.starter import DEFAULT_ENVS, DEPLOY_STEPS, StarterError, write_starter
from lakemon.wheel import PROJECT_WHEELS, WHEEL_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="project folder (created if missing)")
    parser.add_argument(
        "--env",
        dest="envs",
        action="append",
        help=f"an environment to write envs/<env>.yml for; repeat for several (default: {' and '.join(DEFAULT_ENVS)})",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that already exist")


def run(args: argparse.Namespace) -> int:
    envs = tuple(args.envs or DEFAULT_ENVS)
    try:
        written = write_starter(args.folder, envs, force=args.force)
    except StarterError as exc:
        print(f"lakemon init: {exc}", file=sys.stderr)
        return 2
    folder = args.folder
    print(f"lakemon init: wrote {len(written)} files into {folder}:")
    for path in written:
        print(f"  {path.relative_to(folder)}")
    if not (folder / PROJECT_WHEELS / WHEEL_NAME).is_file():
        print(
            f"\nNote: {PROJECT_WHEELS}/{WHEEL_NAME} is not there yet. Put the release wheel you installed into "
            f"{folder / PROJECT_WHEELS}/: requirements.txt installs it and `cdktf synth` uploads it for the jobs."
        )
    print(
        "\nNext steps (Python 3.11 or 3.12; npm installs the Node 22 cdktf runs on; `lakemon doctor` checks the tools):\n"
        f"  cd {folder}\n"
        "  python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt\n"
        "  npm install                                  # the pinned cdktf-cli and Node\n"
        "  lakemon doctor\n"
        "  npx cdktf synth                              # writes cdktf.out/stacks/<env>/cdk.tf.json\n"
        "Edit the env files first: workspace.host, catalog, schema, groups, alert recipients; switch\n"
        "state.backend to azurerm before a team deploys (see the comments in each file).\n"
        "\nDeploying one environment (here dev; `az login` first):\n"
        + "".join(f"  {step}\n" for step in DEPLOY_STEPS)
        + "The preflight adopts what already exists (lost state, renamed constructs) and never drops\n"
        "a table; --skip-synth keeps the deploy on the files it checked (README.md says more)."
    )
    return 0
