"""Every documented way to deploy runs `lakemon preflight` first: the README's "Deploying an
environment", docs/deploy.md's deploy by hand, the project `lakemon init` writes (its README and
the steps it prints). The pipeline's plan stages are checked in test_delivery_preflight.py.

Why it matters: without the preflight a deploy after a lost state fails on every Unity Catalog
object and endpoint that exists, and creates jobs, alerts and destinations a second time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakemon.starter import DEPLOY_STEPS, write_starter

REPO = Path(__file__).resolve().parents[2]


def code_blocks(markdown: str) -> list[list[str]]:
    return [
        [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
        for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)
    ]


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    nxt = re.search(r"^#{1,3} ", markdown[start + len(heading):], flags=re.M)
    return markdown[start: start + len(heading) + (nxt.start() if nxt else len(markdown))]


def check_order(lines: list[str]) -> None:
    """synth, then terraform init of the stack, then the preflight with --adopt, then diff/deploy
    on the synthesized files (--skip-synth), never a diff or deploy before the preflight."""

    def index(pattern: str) -> int:
        found = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert found, (pattern, lines)
        return found[0]

    synth = index(r"cdktf synth$")
    init = index(r"^terraform -chdir=cdktf\.out/stacks/(\w+) init\b")
    pre = index(r"^lakemon preflight --stack-dir cdktf\.out/stacks/\w+ --adopt$")
    diff, deploy = index(r"cdktf diff "), index(r"cdktf deploy ")
    assert synth < init < pre < diff < deploy, lines
    for line in lines:
        if re.search(r"cdktf (diff|deploy)\b", line):
            assert line.endswith("--skip-synth"), line
    stacks = {re.search(r"stacks/(\w+)", lines[i]).group(1) for i in (init, pre)}
    envs = {re.search(r"cdktf (?:diff|deploy) (\w+)", lines[i]).group(1) for i in (diff, deploy)}
    assert stacks == envs and len(envs) == 1


def test_the_readme_deploy_runs_the_preflight_first():
    text = section((REPO / "README.md").read_text(encoding="utf-8"), "## Deploying an environment")
    (block,) = [b for b in code_blocks(text) if any("cdktf deploy" in line for line in b)]
    check_order(block)


def test_the_hand_deploy_in_docs_deploy_runs_the_preflight_first():
    text = section((REPO / "docs" / "deploy.md").read_text(encoding="utf-8"), "## Deploy one environment by hand")
    (block,) = [b for b in code_blocks(text) if any("cdktf deploy" in line for line in b)]
    check_order(block)


def test_no_doc_deploys_without_the_preflight():
    """Any code block anywhere in the docs that runs `cdktf deploy` also runs the preflight first."""
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for block in code_blocks(path.read_text(encoding="utf-8")):
            if any(re.search(r"cdktf deploy\b", line) for line in block):
                check_order(block)


def test_the_starter_readme_and_the_printed_next_steps_run_the_preflight_first(tmp_path):
    check_order(list(DEPLOY_STEPS))
    write_starter(tmp_path / "team", ("dev",))
    (block,) = [b for b in code_blocks((tmp_path / "team" / "README.md").read_text(encoding="utf-8"))
                if any("cdktf deploy" in line for line in b)]
    assert block == list(DEPLOY_STEPS)
    done = subprocess.run([sys.executable, "-m", "lakemon_jobs.cli", "init", str(tmp_path / "other")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = [line.strip() for line in done.stdout.splitlines()]
    start = printed.index(DEPLOY_STEPS[0], printed.index(next(p for p in printed if p.startswith("Deploying one environment"))))
    assert printed[start: start + len(DEPLOY_STEPS)] == list(DEPLOY_STEPS)


@pytest.mark.parametrize("broken", [
    ["npx cdktf synth", "npx cdktf deploy dev --skip-synth", "lakemon preflight --stack-dir cdktf.out/stacks/dev --adopt"],
    ["npx cdktf synth", "terraform -chdir=cdktf.out/stacks/dev init -input=false",
     "lakemon preflight --stack-dir cdktf.out/stacks/dev --adopt", "npx cdktf diff dev", "npx cdktf deploy dev"],
])
def test_the_order_check_catches_a_missing_or_late_preflight(broken):
    with pytest.raises(AssertionError):
        check_order(broken)
