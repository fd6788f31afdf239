"""Fixtures for construct unit tests: a fresh cdktf Testing app per test, a stand-in wheel file.

TMPDIR points at a private folder before the jsii Node process starts, because cdktf.Testing.app()
leaves `cdktf.outdir.*` folders there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

if not os.environ.get("LAKEMON_TEST_TMP"):
    _tmp = tempfile.mkdtemp(prefix="lakemon-cdktf-tests-")
    os.environ["LAKEMON_TEST_TMP"] = _tmp
    os.environ["TMPDIR"] = _tmp
    tempfile.tempdir = None
from lakemon.tooling import quiet_cdktf_environment  # noqa: E402

quiet_cdktf_environment()  # the jsii silence variable holds the Node major; set before cdktf starts Node

import cdktf  # noqa: E402

from lakemon.config import load_environment  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def _cleanup_tmp():
    yield
    shutil.rmtree(os.environ.get("LAKEMON_TEST_TMP", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def dev_env():
    return load_environment(REPO / "envs" / "dev.yml")


@pytest.fixture(scope="session")
def prod_env():
    return load_environment(REPO / "envs" / "prod.yml")


@pytest.fixture(scope="session")
def fake_wheel(tmp_path_factory) -> Path:
    """Stands in for the real wheel: constructs only hash and upload the file, they never open it.
    Named for this lakemon's version (JobArtifacts refuses a wheel of another version)."""
    from lakemon.wheel import WHEEL_NAME

    path = tmp_path_factory.mktemp("dist") / WHEEL_NAME
    path.write_bytes(b"not really a wheel")
    return path


@pytest.fixture
def make_stack(fake_wheel):
    from lakemon import LakemonStack

    def make(env, *, policy: bool = True):
        return LakemonStack(cdktf.Testing.app(), env, wheel=fake_wheel, policy=policy)

    return make


def synth(stack) -> dict:
    return json.loads(cdktf.Testing.synth(stack))


def resources(stack, resource_type: str) -> list[dict]:
    return list(synth(stack).get("resource", {}).get(resource_type, {}).values())


@pytest.fixture
def synth_json():
    return synth


@pytest.fixture
def resources_of():
    return resources
