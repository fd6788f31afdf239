"""The stage graph of azure-pipelines.yml: what runs, in which order, from which branch.

Branch rules are checked by evaluating the stages' `condition:` expressions for simulated runs
(see ado_pipeline.py), not by reading them as text.
"""

from __future__ import annotations

import re

import pytest
from ado_pipeline import (
    ENVIRONMENTS,
    REPO,
    ancestors,
    commands,
    depends_on,
    environment_name,
    job_steps,
    load_pipeline,
    simulate,
    stages,
    step_script,
)

PIPELINE = load_pipeline()
DEPLOY_STAGES = {env: f"deploy_{env}" for env in ENVIRONMENTS}
DEPLOY_COMMAND = re.compile(r"\b(cdktf\s+(deploy|apply|destroy)|terraform\s+(apply|destroy|import))\b")


def all_steps(stage: dict) -> list[dict]:
    return [step for job in stage["jobs"] for step in job_steps(job)]


def step_index(steps: list[dict], pattern: str) -> int:
    """Index of the first step with a command line matching `pattern` (fails when none does)."""
    regex = re.compile(pattern)
    for index, step in enumerate(steps):
        if any(regex.search(line) for line in commands(step)):
            return index
    raise AssertionError(f"no step runs a command matching {pattern!r}")


# --- order ------------------------------------------------------------------------------------


def test_stages_are_build_then_dev_then_aut_then_prod():
    assert [s["stage"] for s in PIPELINE["stages"]] == ["Build", *DEPLOY_STAGES.values()]
    assert depends_on(PIPELINE, "Build") == []
    assert ancestors(PIPELINE, "deploy_dev") == {"Build"}
    assert ancestors(PIPELINE, "deploy_aut") == {"Build", "deploy_dev"}
    assert ancestors(PIPELINE, "deploy_prod") == {"Build", "deploy_dev", "deploy_aut"}


# --- branch rules, by evaluating the conditions -------------------------------------------------

RUNS = [
    ("refs/heads/develop", "IndividualCI", {"Build", "deploy_dev", "deploy_aut"}),
    ("refs/heads/develop", "BatchedCI", {"Build", "deploy_dev", "deploy_aut"}),
    ("refs/heads/main", "IndividualCI", {"Build", "deploy_prod"}),
    ("refs/heads/main", "Manual", {"Build", "deploy_prod"}),
    ("refs/heads/feature/new-model", "IndividualCI", {"Build"}),
    ("refs/heads/release/main", "IndividualCI", {"Build"}),
    ("refs/heads/main-hotfix", "IndividualCI", {"Build"}),
    ("refs/pull/42/merge", "PullRequest", {"Build"}),
    # A PR whose source branch variable reads like main or develop still deploys nothing.
    ("refs/heads/main", "PullRequest", {"Build"}),
    ("refs/heads/develop", "PullRequest", {"Build"}),
]


@pytest.mark.parametrize(("branch", "reason", "expected"), RUNS)
def test_which_stages_run(branch, reason, expected):
    results = simulate(PIPELINE, branch=branch, reason=reason)
    assert {name for name, result in results.items() if result == "Succeeded"} == expected


@pytest.mark.parametrize("branch", ["refs/heads/develop", "refs/heads/main"])
def test_a_failed_build_deploys_nothing(branch):
    results = simulate(PIPELINE, branch=branch, failing=frozenset({"Build"}))
    assert all(results[s] == "Skipped" for s in DEPLOY_STAGES.values())


def test_a_failed_dev_deploy_stops_aut():
    results = simulate(PIPELINE, branch="refs/heads/develop", failing=frozenset({"deploy_dev"}))
    assert results["deploy_aut"] == "Skipped"
    assert results["deploy_prod"] == "Skipped"


def test_prod_runs_only_from_main():
    branches = {b for b, _, _ in RUNS} | {"refs/heads/Main", "refs/tags/v0.1.0", "refs/heads/develop"}
    for branch in branches:
        ran = simulate(PIPELINE, branch=branch)["deploy_prod"] == "Succeeded"
        # Azure DevOps compares case-insensitively, so refs/heads/Main is the same branch.
        assert ran == (branch.lower() == "refs/heads/main"), branch


# --- deployments only through deployment jobs bound to their Environment ------------------------


def test_only_deployment_jobs_deploy():
    for name, stage in stages(PIPELINE).items():
        for job in stage["jobs"]:
            deploys = any(DEPLOY_COMMAND.search(step_script(step)) for step in job_steps(job))
            if deploys:
                assert "deployment" in job, f"{name}: a plain job deploys"
    assert not any(DEPLOY_COMMAND.search(step_script(s)) for s in all_steps(stages(PIPELINE)["Build"]))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_stage_is_one_deployment_job_bound_to_its_environment(env):
    stage = stages(PIPELINE)[DEPLOY_STAGES[env]]
    assert [environment_name(job) for job in stage["jobs"]] == [f"lakemon-{env}"]
    assert all("deployment" in job for job in stage["jobs"])
    # Serialized per environment: runs queue behind each other instead of overlapping.
    assert stage["lockBehavior"] == "sequential"
    assert {"group": f"lakemon-{env}"} in stage["variables"]


def test_the_prod_environment_is_used_by_the_prod_stage_only():
    for name, stage in stages(PIPELINE).items():
        for job in stage["jobs"]:
            if environment_name(job) == "lakemon-prod":
                assert name == "deploy_prod"


# --- what each deploy stage runs -------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_stage_validates_then_diffs_then_deploys_the_build_artifact(env):
    steps = all_steps(stages(PIPELINE)[DEPLOY_STAGES[env]])
    # Exactly the Build's artifact, nothing else, and it is never synthesized again.
    downloads = [s for s in steps if "download" in s]
    assert downloads == [{"download": "current", "artifact": "cdktf.out"}]
    assert not any(re.search(r"cdktf\s+synth|stacks/app\.py|cdktf\s+get", step_script(s)) for s in steps)

    init = step_index(steps, r"^terraform init\b")
    validate = step_index(steps, r"^terraform validate\b")
    diff = step_index(steps, rf"cdktf diff {env} --skip-synth\b")
    deploy = step_index(steps, rf"cdktf deploy {env} --skip-synth --auto-approve\b")
    assert steps.index(downloads[0]) < init <= validate < diff < deploy
    assert steps[validate]["inputs"]["workingDirectory"] == f"$(Pipeline.Workspace)/cdktf.out/stacks/{env}"
    for index in (diff, deploy):
        assert '--output "$(Pipeline.Workspace)/cdktf.out"' in step_script(steps[index])
    # Every cdktf invocation targets this stage's stack and reads the downloaded artifact.
    for step in steps:
        for line in commands(step):
            if "cdktf " in line:
                assert f" {env} --skip-synth" in line, line


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_azure_step_uses_the_federated_service_connection_of_its_environment(env):
    steps = all_steps(stages(PIPELINE)[DEPLOY_STAGES[env]])
    azure = [s for s in steps if re.search(r"^(terraform|node_modules/.bin/cdktf) ", step_script(s), re.M)]
    assert len(azure) == 3
    for step in azure:
        assert step["task"] == "AzureCLI@2"
        assert step["inputs"]["azureSubscription"] == f"sc-lakemon-{env}"
        assert step["inputs"]["addSpnToEnvironment"] is True
        assert step["inputs"]["scriptType"] == "bash"
        assert "set -euo pipefail" in step_script(step)


# --- the Build stage --------------------------------------------------------------------------


def test_build_runs_on_every_push_and_pull_request():
    assert PIPELINE["trigger"] == {"branches": {"include": ["*"]}}
    assert PIPELINE["pr"] == {"branches": {"include": ["*"]}}
    assert "condition" not in stages(PIPELINE)["Build"]


def test_build_sets_up_lints_tests_builds_the_wheel_once_synthesizes_and_publishes():
    steps = all_steps(stages(PIPELINE)["Build"])
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "bash .ci/setup && .venv/bin/python -m pytest" in readme, "README's test command changed"
    setup = step_index(steps, r"^bash \.ci/setup$")
    lint = step_index(steps, r"^\.venv/bin/ruff check \.$")
    tests = step_index(steps, r"^\.venv/bin/python -m pytest$")
    wheel = step_index(steps, r"^\.venv/bin/uv build --wheel --out-dir dist$")
    synth = step_index(steps, r"^node_modules/\.bin/cdktf synth$")
    assert setup < lint < tests < wheel < synth
    assert sum("uv build" in step_script(s) for s in steps) == 1
    # synth uploads exactly the wheel built above (LAKEMON_WHEEL), it does not build another.
    assert "LAKEMON_WHEEL=" in step_script(steps[synth])

    published = {
        s["inputs"]["artifact"]: s["inputs"]["targetPath"]
        for s in steps
        if s.get("task") == "PublishPipelineArtifact@1"
    }
    assert published == {"cdktf.out": "cdktf.out", "wheel": "dist"}
    publish_steps = [i for i, s in enumerate(steps) if s.get("task") == "PublishPipelineArtifact@1"]
    assert min(publish_steps) > synth
