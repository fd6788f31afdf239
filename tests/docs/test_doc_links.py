"""Every link in the repository's Markdown resolves inside the repository.

Relative links must name an existing file or folder, `#anchors` an existing heading (GitHub's
slugs), and no text may point outside the repository (a `../shared/...` note a clone lacks).
Web links (http, https, mailto) are not fetched: CI has no network guarantee.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "node_modules", "cdktf.out", ".git", "dist", ".lakemon", ".gen"}
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    return sorted(
        p for p in REPO.rglob("*.md") if not SKIP_DIRS.intersection(p.relative_to(REPO).parts)
    )


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    title = re.sub(r"`([^`]*)`", r"\1", title)
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for match in HEADING.finditer(text):
        base = slug(match["title"])
        name, n = base, 1
        while name in found:
            name, n = f"{base}-{n}", n + 1
        found.add(name)
    return found


def links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [m["target"] for pattern in (LINK, IMAGE) for m in pattern.finditer(text)]


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in links(path):
        if re.match(r"^(https?|mailto):", target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(REPO):
            problems.append(f"{target}: outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_text_points_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert not re.findall(r"\.\./shared/|/work/", text)


def test_the_checker_catches_what_it_should():
    fake = REPO / "docs" / "_link_check_probe.md"
    fake.write_text(
        "# Title\n[ok](../README.md) [self](#title) [gone](nope.md) [anchor](../README.md#no-such-heading) "
        "[out](../../elsewhere.md)\n```\n[in a fence](ignored.md)\n```\n",
        encoding="utf-8",
    )
    try:
        assert broken_links(fake) == [
            "nope.md: no such file",
            "../README.md#no-such-heading: no heading #no-such-heading in README.md",
            "../../elsewhere.md: outside the repository",
        ]
    finally:
        fake.unlink()
