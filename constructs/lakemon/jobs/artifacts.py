"""`JobArtifacts`: what the jobs run (lakemon) and the environment file on the artifacts volume.

Two ways to give the jobs lakemon's code: upload a wheel file (this repository builds its own),
or, when there is no file (a team that `pip install`ed lakemon), let the serverless environment
install `lakemon[jobs]==<installed version>` from a package index. Serverless environments take
pip requirement-file lines (`dependencies`: "Each dependency is a valid pip requirements file
line", Jobs API `Environment`,
https://databricks.github.io/sdk-js/api/interfaces/_databricks_sdk-jobs.v2.Environment.html), so an index
is one `--index-url <url>` line (https://pip.pypa.io/en/stable/reference/requirements-file-format/).
Without `jobs.package_index` the workspace's default package repository applies (PyPI unless an
admin configured one: https://docs.databricks.com/aws/admin/workspace-settings/default-python-packages).

Why TerraformAsset: cdktf copies the file into `cdktf.out/stacks/<env>/assets/<id>/<hash>/` and
the JSON refers to it by that relative path, so no absolute local path reaches the JSON, and a
changed wheel changes the path, so Terraform re-uploads it. The wheel's file name carries the
version and the jobs' environment references that versioned path: a new version redeploys them.
"""

from __future__ import annotations

import atexit
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
    header = f"# lakemon environment {env.name}, resolved by `cdktf synth`; do not edit (edit envs/{env.name}.yml)\n"
    return header + yaml.safe_dump(data, sort_keys=False)


class JobArtifacts(Construct):
    """Uploads the resolved env file to `<volume>/envs/<env>.yml` and `wheel` (when given) to
    `<volume>/wheels/`; `dependencies` is what the jobs' serverless environment installs.

    Example::

        artifacts = JobArtifacts(stack, "artifacts", env=env, volume=home, wheel="dist/lakemon-0.1.0-py3-none-any.whl")
        artifacts.wheel_path     # /Volumes/mlops_dev/marvel_characters/artifacts/wheels/lakemon-0.1.0-py3-none-any.whl
        artifacts.dependencies   # ['/Volumes/.../wheels/lakemon-0.1.0-py3-none-any.whl[jobs]']
        artifacts.env_file_path  # /Volumes/mlops_dev/marvel_characters/artifacts/envs/dev.yml

        JobArtifacts(stack, "artifacts", env=env, volume=home, wheel=None).dependencies
        # ['lakemon[jobs]==0.1.0'], preceded by '--index-url <url>' when env.jobs.package_index is set

    Props:
      env: the validated environment; its resolved YAML is uploaded for the jobs to load.
      volume: the schema's artifacts volume.
      wheel: the lakemon wheel file to upload. None (default): no upload; the jobs install
        `lakemon[jobs]==<this lakemon's version>` from `env.jobs.package_index` or, when that is
        unset, from the workspace's default package repository.
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
        if wheel is None:
            index = env.jobs.package_index
            self.dependencies = [*([f"--index-url {index}"] if index else []), f"lakemon[jobs]=={__version__}"]
        else:
            wheel = Path(wheel)
            self.wheel_path = f"{volume.volume_path}/wheels/{wheel.name}"
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
