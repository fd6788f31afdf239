"""The distribution's version, derived from git: one rule for the wheel build and for lakemon
running from its source tree (standard library only, so the build hook loads this file by path).

Why not a number in pyproject.toml: a fixed `0.1.0` made every build the same version, so the
feed kept the first build and the stacks uploaded different code under the same file name. The
rule (docs/using-lakemon.md, "Versioning"):

- a commit tagged `v<X.Y.Z>`, with no local changes, is the release `X.Y.Z`; the tag must name
  the newest release heading of CHANGELOG.md, else the build stops (a release without its
  changelog entry, or a changelog that says another version, is a mistake to fix before it ships);
- any other commit is `X.Y.(Z+1).dev<N>+g<commit>`: `X.Y.Z` is CHANGELOG.md's newest release,
  `<N>` the number of commits in the history (grows with every commit, also without tags in the
  clone) and `<commit>` the abbreviated commit id, so two commits never share a version;
  uncommitted changes to tracked files add `.dirty`;
- no git metadata: an sdist carries its version in PKG-INFO; anything else is `0+unknown`, which
  says plainly that the build cannot tell what it was built from.

Installed from a wheel, the version is the wheel's own (its metadata). Submodules read it without
importing the package root (which re-exports everything), so no import circle runs through
`lakemon`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

UNKNOWN = "0+unknown"
"""The version of a build with neither git metadata nor PKG-INFO."""
GIT_TIMEOUT_S = 20
_RELEASE_HEADING = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - \d{4}-\d{2}-\d{2}\s*$", re.MULTILINE)
_PKG_INFO_VERSION = re.compile(r"^Version:\s*(\S+)\s*$", re.MULTILINE)


class VersionError(RuntimeError):
    """The git state contradicts CHANGELOG.md (a release tag that names another version)."""


def newest_release(root: Path) -> tuple[int, int, int]:
    """The newest `## [X.Y.Z] - YYYY-MM-DD` heading of `<root>/CHANGELOG.md`."""
    found = _RELEASE_HEADING.search((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    if not found:
        raise VersionError(f"{root / 'CHANGELOG.md'} has no release heading `## [X.Y.Z] - YYYY-MM-DD`")
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=True
    )
    return done.stdout.strip()


def has_git(root: Path) -> bool:
    """`root` is the top of a git work tree and git answers."""
    if not (root / ".git").exists():
        return False
    try:
        return Path(_git(root, "rev-parse", "--show-toplevel")).resolve() == root.resolve()
    except (OSError, subprocess.SubprocessError):
        return False


def git_version(root: Path, *, strict: bool = True) -> str:
    """The version of the commit checked out in `root` (rule in the module docstring).
    `strict`: a `v*` tag on HEAD that is not CHANGELOG.md's newest release raises VersionError
    (the build); otherwise (lakemon running from a checkout) such a commit counts as a dev build."""
    major, minor, patch = newest_release(root)
    commit = _git(root, "rev-parse", "--short=12", "HEAD")
    count = _git(root, "rev-list", "--count", "HEAD")
    tags = _git(root, "tag", "--points-at", "HEAD", "--list", "v[0-9]*").split()
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    release = f"{major}.{minor}.{patch}"
    if tags and strict and f"v{release}" not in tags:
        raise VersionError(
            f"HEAD is tagged {', '.join(tags)} but CHANGELOG.md's newest release is {release}: "
            f"add the `## [X.Y.Z] - YYYY-MM-DD` heading for the tagged release, or tag v{release}"
        )
    if f"v{release}" in tags and not dirty:
        return release
    return f"{major}.{minor}.{patch + 1}.dev{count}+g{commit}" + (".dirty" if dirty else "")


def source_version(root: Path, *, strict: bool = True) -> str:
    """The version of the source tree at `root`: from git, else an sdist's PKG-INFO, else UNKNOWN."""
    if has_git(root):
        return git_version(root, strict=strict)
    pkg_info = root / "PKG-INFO"
    if pkg_info.is_file():
        found = _PKG_INFO_VERSION.search(pkg_info.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
    return UNKNOWN


def _checkout_root() -> Path | None:
    """The repository root when this file runs from its source tree (not from an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "lakemon"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def _runtime_version() -> str:
    root = _checkout_root()
    if root is not None:
        # An editable install's metadata keeps the version of the day it was installed; the
        # checkout's git state is what a wheel built now would carry.
        return source_version(root, strict=False)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lakemon")
    except PackageNotFoundError:
        return UNKNOWN


__version__ = _runtime_version()
