"""The wheel: what it contains, and that its version is the one in code and in the CHANGELOG."""

from __future__ import annotations

import email
import re
import tomllib
import zipfile

import pytest
from ado_pipeline import REPO

import lakemon

CHANGELOG_RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\S+)\s*$", re.MULTILINE)
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")


@pytest.fixture(scope="module")
def wheel(built_wheel):
    return built_wheel


@pytest.fixture(scope="module")
def names(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def metadata(wheel, names):
    (path,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(path))


def changelog_releases() -> list[tuple[str, str]]:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    return [(m["version"], m["date"]) for m in CHANGELOG_RELEASE.finditer(text)]


def test_wheel_holds_both_import_packages_and_the_typed_marker(names):
    assert "lakemon/__init__.py" in names
    assert "lakemon_jobs/__init__.py" in names
    assert "lakemon/py.typed" in names
    assert "lakemon/config/model.py" in names
    # Package data the library needs at run time: model templates, the bundled data's license.
    assert "lakemon/templates/classification.yml" in names
    assert any(n.startswith("lakemon_jobs/datasets/comic_characters/LICENSE") for n in names)


def test_wheel_never_ships_a_constructs_package_or_repo_files(names):
    # A `constructs` package would shadow the CDK library for every team that installs lakemon.
    assert "constructs/__init__.py" not in names
    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level == {"lakemon", "lakemon_jobs", f"lakemon-{lakemon.__version__}.dist-info"}
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_wheel_version_is_code_version_and_follows_the_newest_changelog_release(wheel, metadata):
    """The version is derived from git (no number in pyproject.toml): a release is exactly the
    newest CHANGELOG release, any other build a dev version of the next patch."""
    from packaging.version import Version

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    version = lakemon.__version__
    assert metadata["Version"] == version
    assert wheel.name == f"lakemon-{version}-py3-none-any.whl"
    releases = changelog_releases()
    assert releases, "CHANGELOG.md has no release heading"
    major, minor, patch = map(int, releases[0][0].split("."))
    parsed = Version(version)
    if parsed.is_devrelease:
        assert parsed.release == (major, minor, patch + 1), version
        assert parsed.local and parsed.local.startswith("g"), "a dev build names its commit"
    else:
        assert SEMVER.match(version) and version == releases[0][0]


def test_changelog_is_keep_a_changelog_with_dated_semver_releases():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog")
    assert "## [Unreleased]" in text
    assert text.index("## [Unreleased]") < text.index("## [" + changelog_releases()[0][0] + "]")
    dates = []
    for version, date in changelog_releases():
        assert SEMVER.match(version), version
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), date
        dates.append(date)
    assert dates == sorted(dates, reverse=True), "newest release first"
    assert ("0.1.0", "2026-11-26") in changelog_releases()


def test_wheel_metadata_lets_other_teams_install_the_library_alone(metadata):
    requires = metadata.get_all("Requires-Dist")
    base = [r for r in requires if "extra ==" not in r]
    # The construct library's own dependencies only; the jobs' stack is an extra.
    assert {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in base} == {
        "cdktf",
        "cdktf-cdktf-provider-databricks",
        "constructs",
        "pyyaml",
        "pydantic",
        "sqlglot",  # custom metric definitions are checked at config load
    }
    assert any("mlflow" in r and "extra == 'jobs'" in r.replace('"', "'") for r in requires)
    assert metadata["Requires-Python"]
