"""The stage graph of azure-pipelines.yml: what runs, in which order, from which branch.

Branch rules are checked by evaluating the stages' `condition:` expressions for simulated runs
(see ado_pipeline.py), not by reading them as text.
"""

from __future__ import annotations

import json
import re

import pytest
from ado_pipeline import (
    ENVIRONMENTS,
    REPO,
    RunContext,
    ancestors,
    commands,
    depends_on,
    environment_name,
    evaluate,
    job_steps,
    load_pipeline,
    simulate,
    stages,
    step_script,
    template_files,
)

PIPELINE = load_pipeline()
PLAN_STAGES = {env: f"plan_{env}" for env in ENVIRONMENTS}
DEPLOY_STAGES = {env: f"deploy_{env}" for env in ENVIRONMENTS}
ORDER = ["Build", "plan_dev", "deploy_dev", "plan_aut", "deploy_aut", "plan_prod", "deploy_prod"]
DEPLOY_COMMAND = re.compile(r"\b(cdktf\s+(deploy|apply|destroy)|terraform\s+(apply|destroy|import))\b")
SCHEMA = json.loads((REPO / "tests" / "delivery" / "azure-pipelines.schema.json").read_text(encoding="utf-8"))


def all_steps(stage: dict) -> list[dict]:
    return [step for job in stage["jobs"] for step in job_steps(job)]


def step_index(steps: list[dict], pattern: str) -> int:
    """Index of the first step with a command line matching `pattern` (fails when none does)."""
    regex = re.compile(pattern)
    for index, step in enumerate(steps):
        if any(regex.search(line) for line in commands(step)):
            return index
    raise AssertionError(f"no step runs a command matching {pattern!r}")


def line_index(step: dict, pattern: str) -> int:
    regex = re.compile(pattern)
    for index, line in enumerate(commands(step)):
        if regex.search(line):
            return index
    raise AssertionError(f"no line matches {pattern!r} in {step.get('displayName')}")


# --- order ------------------------------------------------------------------------------------


def test_stages_are_build_then_dev_then_aut_then_prod_each_planned_first():
    assert [s["stage"] for s in PIPELINE["stages"]] == ORDER
    assert depends_on(PIPELINE, "Build") == []
    for earlier, later in zip(ORDER, ORDER[1:], strict=False):
        assert depends_on(PIPELINE, later) == [earlier]
    # prod comes after dev and aut in the same run: it applies the artifact they deployed
    assert {"deploy_dev", "deploy_aut", "plan_prod"} <= ancestors(PIPELINE, "deploy_prod")


def test_the_three_environments_come_from_one_stage_template():
    refs = [s for s in load_pipeline(expand=False)["stages"] if "template" in s]
    assert [r["template"] for r in refs] == [".ci/azure/deploy-stages.yml"] * 3
    assert [r["parameters"]["env"] for r in refs] == list(ENVIRONMENTS)
    assert {p.name for p in template_files()} == {"deploy-stages.yml", "terraform-install.yml"}


# --- branch rules, by evaluating the conditions -------------------------------------------------

DEV_AUT = {"plan_dev", "deploy_dev", "plan_aut", "deploy_aut"}
PROD = {"plan_prod", "deploy_prod"}
RUNS = [
    ("refs/heads/develop", "IndividualCI", {"Build", *DEV_AUT}),
    ("refs/heads/develop", "BatchedCI", {"Build", *DEV_AUT}),
    ("refs/heads/main", "IndividualCI", {"Build", *DEV_AUT, *PROD}),
    ("refs/heads/main", "Manual", {"Build", *DEV_AUT, *PROD}),
    # A release tag builds, publishes and deploys that release everywhere (docs/deploy.md, "Releases").
    ("refs/tags/v0.2.0", "IndividualCI", {"Build", *DEV_AUT, *PROD}),
    ("refs/tags/nightly", "IndividualCI", {"Build"}),
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
    assert all(results[s] == "Skipped" for s in ORDER[1:])


@pytest.mark.parametrize("failing", ORDER[1:-1])
def test_a_failed_stage_stops_everything_after_it_on_main(failing):
    results = simulate(PIPELINE, branch="refs/heads/main", failing=frozenset({failing}))
    after = ORDER[ORDER.index(failing) + 1 :]
    assert all(results[s] == "Skipped" for s in after), results


def test_prod_deploys_only_the_artifact_dev_and_aut_deployed_in_the_same_run():
    """On main, prod runs only after dev and aut deployed this run's artifact."""
    results = simulate(PIPELINE, branch="refs/heads/main")
    assert results["deploy_dev"] == results["deploy_aut"] == results["deploy_prod"] == "Succeeded"
    for skipped in ("deploy_dev", "deploy_aut"):
        assert simulate(PIPELINE, branch="refs/heads/main", failing=frozenset({skipped}))["deploy_prod"] == "Skipped"
    for env in ENVIRONMENTS:  # every environment applies this run's own artifact, never another run's
        downloads = [s for s in all_steps(stages(PIPELINE)[DEPLOY_STAGES[env]]) if "download" in s]
        assert {d["download"] for d in downloads} == {"current"}


# Cancellation and SucceededWithIssues, evaluated, for every stage.
@pytest.mark.parametrize("stage", ORDER[1:])
def test_a_canceled_run_never_starts_a_later_stage(stage):
    for earlier in ORDER[: ORDER.index(stage)]:
        results = simulate(PIPELINE, branch="refs/heads/main", cancel_during=earlier)
        assert results[stage] == "Skipped", (earlier, results)


@pytest.mark.parametrize("stage", ORDER[1:])
def test_succeeded_with_issues_counts_as_success_for_every_stage_alike(stage):
    for earlier in ORDER[: ORDER.index(stage)]:
        results = simulate(PIPELINE, branch="refs/heads/main", outcomes={earlier: "SucceededWithIssues"})
        assert results[stage] == "Succeeded", (earlier, results)


@pytest.mark.parametrize("stage", ORDER[1:])
def test_every_condition_checks_status_and_cancellation(stage):
    condition = stages(PIPELINE)[stage]["condition"]
    assert re.search(r"\bsucceeded\('" + re.escape(depends_on(PIPELINE, stage)[0]) + r"'\)", condition)
    assert "not(canceled())" in condition.replace(" ", "")


def test_the_evaluator_tells_the_old_prod_condition_apart():
    """The conditions tests can fail: prod's old condition ran after a cancel and refused a
    SucceededWithIssues build."""
    old = (
        "and(eq(dependencies.Build.result, 'Succeeded'), in(dependencies.deploy_aut.result, 'Succeeded', 'Skipped'), "
        "eq(variables['Build.SourceBranch'], 'refs/heads/main'), ne(variables['Build.Reason'], 'PullRequest'))"
    )
    variables = {"Build.SourceBranch": "refs/heads/main", "Build.Reason": "IndividualCI"}
    canceled = RunContext(variables, {"Build": "Succeeded", "deploy_aut": "Skipped"}, canceled=True)
    assert evaluate(old, canceled) is True  # ran although the run was canceled
    issues = RunContext(variables, {"Build": "SucceededWithIssues", "deploy_aut": "Skipped"})
    assert evaluate(old, issues) is False  # unlike dev and aut


def test_prod_runs_only_from_main_and_release_tags():
    branches = {b for b, _, _ in RUNS} | {"refs/heads/Main", "refs/tags/v0.1.0", "refs/heads/develop", "refs/heads/v1"}
    for branch in branches:
        ran = simulate(PIPELINE, branch=branch)["deploy_prod"] == "Succeeded"
        # Azure DevOps compares case-insensitively, so refs/heads/Main is the same branch.
        assert ran == (branch.lower() == "refs/heads/main" or branch.startswith("refs/tags/v")), branch


# --- deployments only through deployment jobs bound to their Environment ------------------------


def test_deployment_job_names_follow_the_schema_rule():
    """'deploy' is a keyword and unsupported as a deployment name (the official
    schema's description of `deployment`); names are A-Z, a-z, 0-9 and underscore."""
    text = json.dumps(SCHEMA)
    assert "The word deploy is a keyword and is unsupported as the deployment name" in text
    names = [job["deployment"] for stage in PIPELINE["stages"] for job in stage["jobs"] if "deployment" in job]
    assert len(names) == 3
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_]+", name) and name.lower() != "deploy", name
    jobs = [job.get("job") or job.get("deployment") for stage in PIPELINE["stages"] for job in stage["jobs"]]
    assert len(jobs) == len(set(jobs))


def test_only_deployment_jobs_deploy():
    for name, stage in stages(PIPELINE).items():
        for job in stage["jobs"]:
            deploys = any(DEPLOY_COMMAND.search(step_script(step)) for step in job_steps(job))
            if deploys:
                assert "deployment" in job, f"{name}: a plain job deploys"
    for name in ("Build", *PLAN_STAGES.values()):
        assert not any(DEPLOY_COMMAND.search(step_script(s)) for s in all_steps(stages(PIPELINE)[name])), name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_stage_is_one_deployment_job_bound_to_its_environment(env):
    stage = stages(PIPELINE)[DEPLOY_STAGES[env]]
    assert [environment_name(job) for job in stage["jobs"]] == [f"lakemon-{env}"]
    assert all("deployment" in job for job in stage["jobs"])
    # Serialized per environment: runs queue behind each other instead of overlapping.
    assert stage["lockBehavior"] == "sequential"
    assert {"group": f"lakemon-{env}"} in stage["variables"]
    # The plan stage is a plain job: no Environment, so no approval before the reviewer has a plan.
    plan = stages(PIPELINE)[PLAN_STAGES[env]]
    assert all("job" in job and environment_name(job) is None for job in plan["jobs"])


def test_the_prod_environment_is_used_by_the_prod_stage_only():
    for name, stage in stages(PIPELINE).items():
        for job in stage["jobs"]:
            if environment_name(job) == "lakemon-prod":
                assert name == "deploy_prod"


# --- what each environment's stages run --------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plan_stage_validates_adopts_plans_and_publishes_only_the_text(env):
    steps = all_steps(stages(PIPELINE)[PLAN_STAGES[env]])
    downloads = [s for s in steps if "download" in s]
    assert downloads == [{"download": "current", "artifact": "cdktf.out"}]
    assert not any(re.search(r"cdktf\s+(synth|get)|stacks/app\.py", step_script(s)) for s in steps)
    (plan_step,) = [s for s in steps if "terraform plan" in step_script(s)]
    assert plan_step["inputs"]["workingDirectory"] == f"$(Pipeline.Workspace)/cdktf.out/stacks/{env}"
    order = [
        line_index(plan_step, r"^python3 - "),  # unset-variable guard
        line_index(plan_step, r"^terraform init -input=false -lockfile=readonly$"),
        line_index(plan_step, r"^terraform validate$"),
        line_index(plan_step, r'preflight\.py"? --stack-dir \. --adopt$'),
        line_index(plan_step, r'^terraform plan -input=false -out="\$plan"$'),
        line_index(plan_step, r'^terraform show -no-color "\$plan" > "\$review/plan\.txt"$'),
        line_index(plan_step, r"^az storage blob upload --auth-mode login"),
    ]
    assert order == sorted(order)
    published = [s for s in steps if s.get("task") == "PublishPipelineArtifact@1"]
    assert [(p["inputs"]["artifact"], p["inputs"]["targetPath"]) for p in published] == [
        (f"plan-{env}", f"$(Build.ArtifactStagingDirectory)/plan-{env}")
    ]
    # the plan file (it holds secret values) is never written where the artifact is published
    assert "$review/" not in step_script(plan_step).split("terraform plan")[1].split("\n")[0]
    assert 'sha256sum "$plan"' in step_script(plan_step)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_stage_applies_exactly_the_saved_plan(env):
    steps = all_steps(stages(PIPELINE)[DEPLOY_STAGES[env]])
    downloads = [s for s in steps if "download" in s]
    assert downloads == [
        {"download": "current", "artifact": "cdktf.out"},
        {"download": "current", "artifact": f"plan-{env}"},
    ]
    (apply_step,) = [s for s in steps if DEPLOY_COMMAND.search(step_script(s))]
    order = [
        line_index(apply_step, r"^terraform init -input=false -lockfile=readonly$"),
        line_index(apply_step, r"^az storage blob download --auth-mode login"),
        line_index(apply_step, r"sha256sum -c -$"),
        line_index(apply_step, r'^terraform apply -input=false "\$plan"$'),
    ]
    assert order == sorted(order)
    assert not re.search(r"terraform (plan|apply -auto-approve|apply -var)|cdktf", step_script(apply_step))
    assert "plan-" + env + "/plan.sha256" in step_script(apply_step)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_azure_step_uses_the_federated_service_connection_of_its_environment(env):
    steps = all_steps(stages(PIPELINE)[PLAN_STAGES[env]]) + all_steps(stages(PIPELINE)[DEPLOY_STAGES[env]])
    azure = [s for s in steps if re.search(r"^terraform ", step_script(s), re.M)]
    assert len(azure) == 2
    for step in azure:
        assert step["task"] == "AzureCLI@2"
        assert step["inputs"]["azureSubscription"] == f"sc-lakemon-{env}"
        assert step["inputs"]["addSpnToEnvironment"] is True
        assert step["inputs"]["scriptType"] == "bash"
        assert "set -euo pipefail" in step_script(step)
        # State through Terraform's own Azure DevOps OIDC (azurerm backend reads
        # ARM_USE_OIDC, ARM_OIDC_AZURE_SERVICE_CONNECTION_ID, SYSTEM_ACCESSTOKEN, SYSTEM_OIDCREQUESTURI)
        assert step["env"]["ARM_OIDC_AZURE_SERVICE_CONNECTION_ID"] == "$(service-connection-id)"
        assert step["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
        assert step["env"]["SYSTEM_OIDCREQUESTURI"] == "$(System.OidcRequestUri)"
    # the az session is kept alive only where the Databricks provider needs it: the long apply
    assert [s["inputs"].get("keepAzSessionActive", False) for s in azure] == [False, True]
    for name in (PLAN_STAGES[env], DEPLOY_STAGES[env]):
        variables = {v["name"]: v["value"] for v in stages(PIPELINE)[name]["variables"] if "name" in v}
        assert variables["ARM_USE_OIDC"] == "true" and variables["ARM_USE_CLI"] == "false"


def test_terraform_download_is_checked_against_a_hash_pinned_in_the_repository():
    """Not against a sums file fetched from the same server."""
    installs = [
        s for stage in PIPELINE["stages"] for s in all_steps(stage) if "releases.hashicorp.com" in step_script(s)
    ]
    assert len(installs) == 1 + 2 * len(ENVIRONMENTS)  # Build, every plan and deploy stage
    for step in installs:
        text = step_script(step)
        assert "SHA256SUMS" not in text
        assert re.search(r'^echo "[0-9a-f]{64}  \$zip" \| sha256sum -c -$', text, re.M), text


def test_one_supported_node_version_everywhere_and_nothing_silenced():
    import json

    from lakemon.tooling import NODE_MAJOR_TESTED

    variables = {v["name"]: v["value"] for v in PIPELINE["variables"]}
    assert NODE_MAJOR_TESTED >= 22
    assert variables["NODE_VERSION"] == f"{NODE_MAJOR_TESTED}.x"
    (node_tool,) = [s for s in all_steps(stages(PIPELINE)["Build"]) if s.get("task") == "NodeTool@0"]
    assert node_tool["inputs"]["versionSpec"] == "$(NODE_VERSION)"
    package = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    assert package["devDependencies"]["node"].split(".")[0] == str(NODE_MAJOR_TESTED)
    assert f"Node {NODE_MAJOR_TESTED}" in (REPO / "README.md").read_text(encoding="utf-8")
    for path in [REPO / "azure-pipelines.yml", *template_files(), REPO / ".ci" / "setup", REPO / "README.md"]:
        assert "JSII_SILENCE" not in path.read_text(encoding="utf-8"), path


def test_caches_for_uv_npm_and_terraform_providers():
    caches = {
        s["inputs"]["path"]: s["inputs"]["key"]
        for stage in PIPELINE["stages"] for s in all_steps(stage) if s.get("task") == "Cache@2"
    }
    assert caches["$(UV_CACHE_DIR)"].endswith("requirements.lock")
    assert caches["$(npm_config_cache)"].endswith("package-lock.json")
    assert "terraform-providers" in caches["$(TF_PLUGIN_CACHE_DIR)"]
    variables = {v["name"] for v in PIPELINE["variables"]}
    assert {"UV_CACHE_DIR", "npm_config_cache", "TF_PLUGIN_CACHE_DIR"} <= variables


# --- the Build stage --------------------------------------------------------------------------


def test_build_runs_on_every_push_and_pull_request():
    assert PIPELINE["trigger"] == {"branches": {"include": ["*"]}, "tags": {"include": ["v*"]}}
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
    assert 'test -f "dist/lakemon-$version-py3-none-any.whl"' in step_script(steps[wheel])  # == lakemon --version
    # synth uploads exactly the wheel built above (LAKEMON_WHEEL), it does not build another.
    assert "LAKEMON_WHEEL=" in step_script(steps[synth])

    published = {
        s["inputs"]["artifact"]: s["inputs"]["targetPath"]
        for s in steps
        if s.get("task") == "PublishPipelineArtifact@1"
    }
    assert published == {"cdktf.out": "cdktf.out", "wheel": "dist", "test-results": "test-results"}
    publish_steps = [
        i for i, s in enumerate(steps)
        if s.get("task") == "PublishPipelineArtifact@1" and s["inputs"]["artifact"] != "test-results"
    ]
    assert min(publish_steps) > synth
    # the browser test's screenshots are kept, also when a test failed
    (results,) = [s for s in steps if s.get("inputs", {}).get("artifact") == "test-results"]
    assert results["condition"] == "succeededOrFailed()" and steps.index(results) == tests + 1


def test_build_validates_every_stack_before_publishing():
    """Pull requests run `terraform init -backend=false` + `validate` per stack."""
    steps = all_steps(stages(PIPELINE)["Build"])
    synth = step_index(steps, r"^node_modules/\.bin/cdktf synth$")
    validate = step_index(steps, r'^terraform -chdir="\$stack" validate$')
    assert step_index(steps, r'^terraform -chdir="\$stack" init -backend=false -input=false -lockfile=readonly$') == validate
    assert 'for stack in cdktf.out/stacks/*/; do' in step_script(steps[validate])
    publish = min(
        i for i, s in enumerate(steps)
        if s.get("task") == "PublishPipelineArtifact@1" and s["inputs"]["artifact"] != "test-results"
    )
    assert synth < validate < publish
    assert "condition" not in steps[validate]  # on pull requests too


def test_only_release_tags_publish_and_an_existing_version_fails_the_run():
    steps = all_steps(stages(PIPELINE)["Build"])
    upload = step_index(steps, r'twine upload .*"\$expected"$')
    script = step_script(steps[upload])
    assert not any("--skip-existing" in line for line in commands(steps[upload]))
    assert 'expected="dist/lakemon-$(Build.SourceBranchName)-py3-none-any.whl"' in script
    auth = [i for i, s in enumerate(steps) if s.get("task") == "TwineAuthenticate@1"]
    assert auth and auth[0] < upload
    for index in (auth[0], upload):
        condition = steps[index]["condition"]
        variables = {"Build.Reason": "IndividualCI"}
        for branch, expected in (("refs/tags/v0.2.0", True), ("refs/heads/main", False), ("refs/heads/develop", False)):
            ctx = RunContext({**variables, "Build.SourceBranch": branch}, {})
            assert evaluate(condition, ctx) is expected


def test_build_locks_the_provider_per_stack_and_plan_and_apply_use_that_lock():
    """Each stack's .terraform.lock.hcl is written in Build for the agents' platform (pull
    requests too), shipped in cdktf.out, and every later init refuses to change it."""
    steps = all_steps(stages(PIPELINE)["Build"])
    lock = step_index(steps, r'^terraform -chdir="\$stack" providers lock -platform=linux_amd64$')
    script = step_script(steps[lock])
    lines = [line.strip() for line in script.splitlines()]
    assert lines.index('terraform -chdir="$stack" providers lock -platform=linux_amd64') < lines.index(
        'terraform -chdir="$stack" init -backend=false -input=false -lockfile=readonly'
    )
    assert 'rm -rf "$stack/.terraform"' in lines  # the lock file ships, the downloaded plugins do not
    (cdktf_out,) = [i for i, s in enumerate(steps) if s.get("inputs", {}).get("artifact") == "cdktf.out"]
    assert lock < cdktf_out and "condition" not in steps[lock]
    for env in ENVIRONMENTS:
        for stage in (f"plan_{env}", DEPLOY_STAGES[env]):
            inits = [
                line.strip() for s in all_steps(stages(PIPELINE)[stage])
                for line in step_script(s).splitlines() if line.strip().startswith("terraform init")
            ]
            assert inits == ["terraform init -input=false -lockfile=readonly"], (stage, inits)


def test_build_checks_out_full_history_and_tags_for_the_version():
    (checkout,) = [s for s in all_steps(stages(PIPELINE)["Build"]) if s.get("checkout") == "self"]
    assert checkout["fetchDepth"] == "0" and checkout["fetchTags"] == "true"
