"""`JobArtifacts`: the lakemon wheel and the environment file, uploaded to the artifacts volume.

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
    """Uploads `wheel` to `<volume>/wheels/` and the resolved env file to `<volume>/envs/<env>.yml`.

    Example::

        artifacts = JobArtifacts(stack, "artifacts", env=env, volume=home, wheel="dist/lakemon-0.1.0-py3-none-any.whl")
        artifacts.wheel_path     # /Volumes/mlops_dev/marvel_characters/artifacts/wheels/lakemon-0.1.0-py3-none-any.whl
        artifacts.env_file_path  # /Volumes/mlops_dev/marvel_characters/artifacts/envs/dev.yml
    """

    def __init__(
        self, scope: Construct, id: str, *, env: Environment, volume: SchemaHome, wheel: str | Path
    ) -> None:
        super().__init__(scope, id)
        wheel = Path(wheel)
        self.volume_path = volume.volume_path
        """The artifacts volume (/Volumes/<catalog>/<schema>/artifacts): wheel, env file, reports."""
        self.wheel_path = f"{volume.volume_path}/wheels/{wheel.name}"
        self.env_file_path = f"{volume.volume_path}/envs/{env.name}.yml"
        wheel_asset = TerraformAsset(self, "wheel-asset", path=str(wheel.resolve()), type=AssetType.FILE)
        env_source = _scratch_dir() / env.name / f"{env.name}.yml"
        env_source.parent.mkdir(parents=True, exist_ok=True)
        env_source.write_text(environment_yaml(env), encoding="utf-8")
        env_asset = TerraformAsset(self, "env-asset", path=str(env_source), type=AssetType.FILE)
        self.wheel = File(
            self, "wheel", path=self.wheel_path, source=wheel_asset.path, depends_on=[volume.volume]
        )
        self.env_file = File(
            self, "env-file", path=self.env_file_path, source=env_asset.path, depends_on=[volume.volume]
        )
