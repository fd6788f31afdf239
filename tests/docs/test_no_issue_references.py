"""History lives in the CHANGELOG and git, not in the code: no "issue N" outside CHANGELOG.md.

A comment, docstring, test name or doc that says "issue 17" tells a reader nothing once the issue
is closed; it has to say what it means instead (the capability's name, the rule it checks). The
check covers every text file of the repository (source, tests, docs, benchmarks, CI, config) and
every file name. Other projects' issues are cited as `owner/repo#N` or "issue #N" with the
project named (a citation, not history), so a number after `#` is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# "issue 17", "Issue 11 item 8", "issues 12", "issue-16", "issue17" (as in a file name); not "issue #4867"
ISSUE = re.compile(r"(?i)(?<![a-z])issues?[ _-]?\d+")
TEXT_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".json", ".tmpl", ".cfg", ".ini", ".txt", ".sh", ".html"}
SKIP_DIRS = {"node_modules", "cdktf.out", "dist", "build", "__pycache__"}
# this file names the forms it refuses; npm's lock file is generated
ALLOWED = {Path("CHANGELOG.md"), Path("package-lock.json"), Path("tests/docs/test_no_issue_references.py")}


def repository_files() -> list[Path]:
    """Every file a clone holds, without generated or installed folders (any dot folder but .ci)."""
    files = []
    for root, dirs, names in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and (d == ".ci" or not d.startswith("."))]
        files += [rel for name in names if (rel := (Path(root) / name).relative_to(REPO)) not in ALLOWED]
    return sorted(files)


def issue_references(rel: Path) -> list[str]:
    found = [f"{rel}: file name" for _ in ISSUE.finditer(rel.name)]
    if rel.suffix in TEXT_SUFFIXES or rel.parts[0] == ".ci":
        text = (REPO / rel).read_text(encoding="utf-8", errors="replace")
        for match in ISSUE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{rel}:{line}: {match.group(0)!r}")
    return found


def test_no_issue_numbers_outside_the_changelog():
    found = [ref for rel in repository_files() for ref in issue_references(rel)]
    assert found == [], "say what it means instead of the issue number:\n" + "\n".join(found)


def test_the_check_sees_the_forms_it_should(tmp_path):
    flagged = ["issue 17", "Issue 11 item 8", "issues 12 and 14", "the issue-16 targets", "test_unpack_issue17.py"]
    allowed = ["provider issues #3126, #4159", "open issue #4867", "databricks/mlops-stacks#217", "tissue 3"]
    assert [s for s in flagged if not ISSUE.search(s)] == []
    assert [s for s in allowed if ISSUE.search(s)] == []


def test_the_walk_covers_source_tests_docs_and_ci():
    files = {str(p) for p in repository_files()}
    for expected in ("README.md", "docs/monitoring.md", "benchmarks/RESULTS.md", ".ci/run", "pyproject.toml",
                     "tests/docs/test_doc_links.py", "scripts/lakemon_jobs/deploy.py"):
        assert expected in files
    assert "CHANGELOG.md" not in files
    assert not any(f.startswith((".venv/", ".git/")) for f in files)
