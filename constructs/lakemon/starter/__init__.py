"""`lakemon init <folder>`: a project that needs no clone of the lakemon repository.

Writes a commented env file per environment (`envs/<env>.yml`), `app.py` (one stack per env
file), `cdktf.json`, `package.json` pinning the cdktf-cli version lakemon was tested with,
`requirements.txt` pinning lakemon itself, a `.gitignore`, and a `README.md` with the deploy
steps (`DEPLOY_STEPS`: the preflight runs before every plan). The files are templates shipped in
the wheel (`lakemon/starter/*.tmpl`), filled with `string.Template` ($-placeholders, because
the YAML and JSON bodies are full of braces).

Why `state.backend: local` in the starter: a first synth must work before any Azure storage
exists; the env file shows the azurerm block a team switches to before deploying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from .._version import __version__
from ..tooling import NODE_MAJOR_TESTED

CDKTF_CLI_VERSION = "0.21.0"
"""cdktf-cli version lakemon is tested with (this repository's package.json; a test keeps them equal)."""
NODE_PACKAGE_VERSION = "22.23.3"
"""The npm registry's `node` package (Node itself) cdktf runs on (this repository's package.json;
a test keeps them equal)."""
DEFAULT_ENVS = ("dev", "prod")
DEPLOY_STEPS = (
    "npx cdktf synth",
    "terraform -chdir=cdktf.out/stacks/dev init -input=false",
    "lakemon preflight --stack-dir cdktf.out/stacks/dev --adopt",
    "npx cdktf diff dev --skip-synth",
    "npx cdktf deploy dev --skip-synth",
)
"""A deploy by hand, in the order every documented path uses (lakemon's README and
docs/deploy.md, its pipeline): `lakemon preflight` after `terraform init` (it reads the state)
and before any plan; `--skip-synth` so that the plan and the apply use the files it checked."""
_ENV_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class StarterError(ValueError):
    """The starter cannot be written (bad environment name, files already there)."""


@dataclass(frozen=True)
class StarterFile:
    template: str
    target: str


def _render(template: str, **values: str) -> str:
    text = resources.files(__name__).joinpath(template).read_text(encoding="utf-8")
    return Template(text).substitute(version=__version__, **values)


def planned_files(envs: tuple[str, ...]) -> list[StarterFile]:
    return [
        *(StarterFile("env.yml.tmpl", f"envs/{env}.yml") for env in envs),
        StarterFile("app.py.tmpl", "app.py"),
        StarterFile("cdktf.json.tmpl", "cdktf.json"),
        StarterFile("package.json.tmpl", "package.json"),
        StarterFile("requirements.txt.tmpl", "requirements.txt"),
        StarterFile("gitignore.tmpl", ".gitignore"),
        StarterFile("README.md.tmpl", "README.md"),
    ]


def write_starter(folder: str | Path, envs: tuple[str, ...] = DEFAULT_ENVS, *, force: bool = False) -> list[Path]:
    """Write the starter project into `folder` (created if missing) and return the files written.
    Refuses to overwrite an existing file unless `force`."""
    folder = Path(folder)
    bad = [e for e in envs if not _ENV_NAME.match(e)]
    if bad or not envs or len(set(envs)) != len(envs):
        raise StarterError(
            f"environment names must be unique lower-case identifiers (a-z, 0-9, _), got {list(envs)}"
        )
    files = planned_files(envs)
    existing = [f.target for f in files if (folder / f.target).exists()]
    if existing and not force:
        raise StarterError(
            f"{folder} already has {', '.join(existing)}; pass --force to overwrite them"
        )
    project = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-") or "lakemon-project"
    written = []
    for file in files:
        env = file.target.removeprefix("envs/").removesuffix(".yml")
        values = {
            "env": env,
            "protect_data": "true" if env == "prod" else "false",
            "scale_to_zero": "false" if env == "prod" else "true",
            "project": project,
            "cdktf_cli": CDKTF_CLI_VERSION,
            "node_major": str(NODE_MAJOR_TESTED),
            "deploy_steps": "\n".join(DEPLOY_STEPS),
            "node_package": NODE_PACKAGE_VERSION,
        }
        target = folder / file.target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_render(file.template, **values), encoding="utf-8")
        written.append(target)
    return written
