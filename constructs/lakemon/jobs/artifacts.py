"""`JobArtifacts`: what the jobs run (lakemon) and the environment file on the artifacts volume.

The jobs install exactly the artifact that was tested. By default that is the wheel file the
stack uploads to the artifacts volume, at `<volume>/wheels/<sha256 prefix>/lakemon-<version>-...whl`:
the path carries the version and the content hash, so a different build is a different path and
Terraform uploads it and redeploys the jobs. Only when `jobs.package_index` is set and there is no
wheel file do the jobs install `lakemon[jobs]==<release version>` from that index, with
`--index-url` (never `--extra-index-url`, which would let another index answer for the name).
A bare `lakemon` requirement with no index is refused at synth: it would come from whatever index
the workspace resolves first (PyPI unless an admin configured another:
https://docs.databricks.com/aws/admin/workspace-settings/default-python-packages), i.e. from
anyone who registers the name (dependency confusion).

Serverless environments take pip requirement-file lines (`dependencies`: "Each dependency is a
valid pip requirements file line", Jobs API `Environment`,
https://databricks.github.io/sdk-js/api/interfaces/_databricks_sdk-jobs.v2.Environment.html), so an
index is one `--index-url <url>` line (https://pip.pypa.io/en/stable/reference/requirements-file-format/).

Why TerraformAsset: cdktf copies the file into `cdktf.out/stacks/<env>/assets/<id>/<hash>/` and
the JSON refers to it by that relative path, so no absolute local path reaches the JSON.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_databricks.file import File

from constructs import Construct

from .._version import __version__
from ..catalog.home import SchemaHome
from ..config.model import Environment
from ..errors import LakemonConstructError

WHEEL_FILE = re.compile(r"^lakemon-(?P<version>[^-]+)-py3-none-any\.whl$")
HASH_CHARS = 16
"""Hex digits of the wheel's SHA-256 in its volume path (64 bits: no accidental collision)."""


def wheel_version(wheel: Path) -> str:
    """The version in a lakemon wheel's file name (PEP 427 names: `lakemon-<version>-py3-none-any.whl`)."""
    found = WHEEL_FILE.match(wheel.name)
    if not found:
        raise ValueError(f"{wheel.name} is not a lakemon wheel file name (lakemon-<version>-py3-none-any.whl)")
    return found["version"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

_SCRATCH: list[Path] = []


def _scratch_dir() -> Path:
    if not _SCRATCH:
        path = Path(tempfile.mkdtemp(prefix="lakemon-envfiles-"))
        atexit.register(shutil.rmtree, path, True)
        _SCRATCH.append(path)
    return _SCRATCH[0]


def environment_yaml(env: Environment) -> str:
    """The resolved environment (templates merged, defaults filled) as YAML the jobs load with
    `load_environment`: one source of truth for what the jobs and the stack were built from."""
    data = env.model_dump(mode="json", by_alias=True, exclude_none=True)
    header = (
        f"# lakemon environment {env.name}, resolved by `cdktf synth` with lakemon {__version__}; "
        f"do not edit (edit envs/{env.name}.yml)\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False)


class JobArtifacts(Construct):
    """Uploads the resolved env file to `<volume>/envs/<env>.yml` and the lakemon wheel to
    `<volume>/wheels/<sha256 prefix>/`; `dependencies` is what the jobs' serverless environment
    installs, `version` the lakemon version the jobs run.

    Example::

        artifacts = JobArtifacts(stack, "artifacts", env=env, volume=home, wheel="dist/lakemon-0.1.0-py3-none-any.whl")
        artifacts.wheel_path     # /Volumes/mlops_dev/marvel_characters/artifacts/wheels/3f2a.../lakemon-0.1.0-py3-none-any.whl
        artifacts.dependencies   # ['/Volumes/.../wheels/3f2a.../lakemon-0.1.0-py3-none-any.whl[jobs]']
        artifacts.env_file_path  # /Volumes/mlops_dev/marvel_characters/artifacts/envs/dev.yml

        # no wheel file: only with env.jobs.package_index set (and a release version)
        JobArtifacts(stack, "artifacts", env=env, volume=home, wheel=None).dependencies
        # ['--index-url https://pkgs.example.com/simple/', 'lakemon[jobs]==0.1.0']

    Props:
      env: the validated environment; its resolved YAML is uploaded for the jobs to load.
      volume: the schema's artifacts volume.
      wheel: the lakemon wheel file to upload; its version must be this lakemon's (the jobs load
        the env file this synth writes). None: the jobs install `lakemon[jobs]==<this lakemon's
        version>` from `env.jobs.package_index`; without that key the construct refuses.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        volume: SchemaHome,
        wheel: str | Path | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.volume_path = volume.volume_path
        """The artifacts volume (/Volumes/<catalog>/<schema>/artifacts): wheel, env file, reports."""
        self.env_file_path = f"{volume.volume_path}/envs/{env.name}.yml"
        self.wheel_path: str | None = None
        """Where the wheel is uploaded; None when the jobs install lakemon from a package index."""
        self.wheel: File | None = None
        self.wheel_sha256: str | None = None
        self.version = __version__
        """The lakemon version the jobs run (the wheel's, which must be this lakemon's)."""
        path = self.node.path
        if wheel is None:
            index = env.jobs.package_index
            if not index:
                raise LakemonConstructError(
                    path,
                    "the jobs need lakemon's code and no wheel file was given: pass the tested wheel "
                    "(LakemonStack(wheel=...) or $LAKEMON_WHEEL, e.g. wheels/lakemon-<version>-py3-none-any.whl), "
                    "or set `jobs.package_index` in the env file to the index that serves this release. "
                    "A bare `lakemon` requirement would install whatever the workspace's default index calls lakemon.",
                )
            if "+" in __version__:
                raise LakemonConstructError(
                    path,
                    f"lakemon {__version__} is a development build (its `+` part never reaches an index): "
                    "upload its wheel instead (LakemonStack(wheel=...) or $LAKEMON_WHEEL), or synth with a release",
                )
            self.dependencies = [f"--index-url {index}", f"lakemon[jobs]=={__version__}"]
        else:
            wheel = Path(wheel)
            try:
                shipped = wheel_version(wheel)
            except ValueError as exc:
                raise LakemonConstructError(path, str(exc)) from None
            if shipped != __version__:
                raise LakemonConstructError(
                    path,
                    f"the wheel {wheel.name} is lakemon {shipped}, but this synth runs lakemon {__version__}: "
                    "the jobs would read an env file written by another version. Install that wheel here "
                    f"(pip install \"{wheel}[jobs]\") or pass the wheel of {__version__}",
                )
            digest = file_sha256(wheel)
            self.wheel_sha256 = digest  # its first HASH_CHARS hex digits are in the path
            self.wheel_path = f"{volume.volume_path}/wheels/{digest[:HASH_CHARS]}/{wheel.name}"
            wheel_asset = TerraformAsset(self, "wheel-asset", path=str(wheel.resolve()), type=AssetType.FILE)
            self.wheel = File(
                self, "wheel", path=self.wheel_path, source=wheel_asset.path, depends_on=[volume.volume]
            )
            self.dependencies = [f"{self.wheel_path}[jobs]"]
        """pip requirement lines of the jobs' serverless environment."""
        env_source = _scratch_dir() / env.name / f"{env.name}.yml"
        env_source.parent.mkdir(parents=True, exist_ok=True)
        env_source.write_text(environment_yaml(env), encoding="utf-8")
        env_asset = TerraformAsset(self, "env-asset", path=str(env_source), type=AssetType.FILE)
        self.env_file = File(
            self, "env-file", path=self.env_file_path, source=env_asset.path, depends_on=[volume.volume]
        )
