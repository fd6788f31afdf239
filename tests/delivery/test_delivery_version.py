"""Versions that mean something: the git-derived version rule (constructs/lakemon/_version.py),
the wheel built from two commits, `lakemon --version` of an installed wheel."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from ado_pipeline import REPO
from packaging.version import Version
from wheel_build import build_wheel

from lakemon import _version as rule

CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n## [0.3.1] - 2026-12-01\n\n## [0.3.0] - 2026-11-01\n"
GIT_TIMEOUT_S = 60


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "CHANGELOG.md").write_text(CHANGELOG)
    git(root, "add", "CHANGELOG.md")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_two_commits_give_two_dev_versions_after_the_newest_release(repo):
    first = rule.source_version(repo)
    git(repo, "commit", "-q", "--allow-empty", "-m", "second")
    second = rule.source_version(repo)
    assert first != second
    head = git(repo, "rev-parse", "--short=12", "HEAD")
    assert second == f"0.3.2.dev2+g{head}"
    assert Version(first) < Version(second) and Version(second) > Version("0.3.1")


def test_a_release_tag_that_matches_the_changelog_is_the_release(repo):
    git(repo, "tag", "v0.3.1")
    assert rule.source_version(repo) == "0.3.1"


def test_local_changes_are_never_the_release(repo):
    git(repo, "tag", "v0.3.1")
    (repo / "CHANGELOG.md").write_text(CHANGELOG + "\nedited\n")
    assert rule.source_version(repo).endswith(".dirty")
    assert Version(rule.source_version(repo)).public.startswith("0.3.2.dev")


def test_a_tag_the_changelog_does_not_name_stops_the_build(repo):
    git(repo, "tag", "v0.4.0")
    with pytest.raises(rule.VersionError, match=r"tagged v0\.4\.0 but CHANGELOG\.md's newest release is 0\.3\.1"):
        rule.source_version(repo)
    # lakemon running from such a checkout still answers (as a dev build), it does not crash
    assert ".dev" in rule.source_version(repo, strict=False)


def test_without_git_an_sdist_keeps_its_version_and_anything_else_says_unknown(tmp_path):
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    assert rule.source_version(tmp_path) == rule.UNKNOWN == "0+unknown"
    (tmp_path / "PKG-INFO").write_text("Metadata-Version: 2.4\nName: lakemon\nVersion: 0.3.2.dev5+gabc\n")
    assert rule.source_version(tmp_path) == "0.3.2.dev5+gabc"


def test_wheels_built_from_two_commits_carry_two_versions(tmp_path):
    """A clean clone (as CI has), two commits: two wheels with different versions in file name
    and metadata, each the version the rule gives for that commit."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=300)
    built = []
    for n in range(2):
        if n:
            git(clone, "commit", "-q", "--allow-empty", "-m", "another commit")
        wheel = build_wheel(tmp_path / f"dist{n}", root=clone)
        expected = rule.source_version(clone)
        with zipfile.ZipFile(wheel) as archive:
            (meta,) = [p for p in archive.namelist() if p.endswith(".dist-info/METADATA")]
            assert f"\nVersion: {expected}\n" in archive.read(meta).decode()
        assert wheel.name == f"lakemon-{expected}-py3-none-any.whl"
        built.append(expected)
    assert built[0] != built[1]
    shutil.rmtree(clone)


def test_installed_lakemon_version_is_the_wheel_version(installed):
    python, wheel, _site = installed
    done = subprocess.run(
        [str(python.parent / "lakemon"), "--version"], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == f"lakemon {wheel.name.split('-')[1]}"
