"""No secret in azure-pipelines.yml, and every secret the stacks need arrives from Key Vault.

`secret_findings` is the check; the doctored pipelines below prove it finds what it claims to.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ado_pipeline import ENVIRONMENTS, REPO, job_steps, load_pipeline, stages, step_script, walk

PIPELINE = load_pipeline()

# Names that must never appear as a variable, env mapping or input, even when the value is a
# reference: the pipeline authenticates with workload identity federation only.
FORBIDDEN_NAMES = re.compile(
    r"^(clientsecret|client_secret|arm_client_secret|azure_client_secret|databricks_client_secret"
    r"|databricks_token|arm_access_key|arm_sas_token|azure_devops_ext_pat|.*personal_?access_?token.*"
    r"|pat|.*_pat|pat_.*|serviceprincipalkey)$",
    re.IGNORECASE,
)
SECRET_LOOKING_NAME = re.compile(
    r"secret|passw|token|api_?key|access_?key|credential|webhook|\bpat\b", re.IGNORECASE
)
SECRET_LOOKING_VALUE = [
    ("URL with credentials", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@$]+:[^/\s@]+@", re.IGNORECASE)),
    ("Databricks token", re.compile(r"\bdapi[0-9a-f]{32}")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("Entra client secret", re.compile(r"[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}")),
    (
        "storage connection string",
        re.compile(r"AccountKey=|SharedAccessSignature=|[?&]sig=[A-Za-z0-9%]", re.IGNORECASE),
    ),
    (
        "Slack or Teams webhook",
        re.compile(r"hooks\.slack\.com/services/|webhook\.office\.com/|\.logic\.azure\.com", re.IGNORECASE),
    ),
    # 32+ hex digits, or 40+ base64 characters mixing letters and digits (keys, SAS, tokens).
    ("key-like literal", re.compile(r"(?<![A-Za-z0-9])[0-9a-f]{32,}(?![A-Za-z0-9])", re.IGNORECASE)),
    (
        "key-like literal",
        re.compile(r"(?<![A-Za-z0-9+/])(?=[A-Za-z+/]*\d)(?=[0-9+/]*[A-Za-z])[A-Za-z0-9+/]{40,}={0,2}"),
    ),
    (
        "password on a command line",
        re.compile(r"(--password|--client-secret|--secret|-p)\s+[\"']?[^\s\"'$]{6,}"),
    ),
]
MACRO = re.compile(r"^\$\([A-Za-z0-9_.-]+\)$")
# A SHA-256 that a download is checked against is a public hash, not a key.
CHECKSUM = re.compile(r"[0-9a-f]{64}(?=\s+\S+\s*\|\s*sha256sum -c)|(?<=sha256: )[0-9a-f]{64}$", re.M)


def secret_findings(pipeline: dict[str, Any]) -> list[str]:
    findings = []
    for path, value in walk(pipeline):
        where = "/".join(map(str, path))
        if path and path[-1] == "<key>" and isinstance(value, str) and FORBIDDEN_NAMES.match(value):
            findings.append(f"{where}: forbidden credential name {value!r}")
        if isinstance(value, str):
            value = CHECKSUM.sub("<checksum>", value)
            for what, pattern in SECRET_LOOKING_VALUE:
                if pattern.search(value):
                    findings.append(f"{where}: {what} in {value[:60]!r}")
        if isinstance(value, dict) and "name" in value and "value" in value:  # a variables entry
            name = str(value["name"])
            if FORBIDDEN_NAMES.match(name):
                findings.append(f"{where}: forbidden credential variable {name!r}")
            elif SECRET_LOOKING_NAME.search(name):
                findings.append(f"{where}: secret-looking variable {name!r} defined in the pipeline")
        if path and path[-1] == "env" and isinstance(value, dict):
            for name, mapped in value.items():
                if SECRET_LOOKING_NAME.search(name) or name.startswith("TF_VAR_"):
                    if not MACRO.match(str(mapped)):
                        findings.append(f"{where}/{name}: must be a $(variable) reference, got a literal")
    if isinstance(pipeline.get("variables"), dict):  # the mapping form of `variables:`
        for name in pipeline["variables"]:
            if SECRET_LOOKING_NAME.search(name) or FORBIDDEN_NAMES.match(name):
                findings.append(f"variables/{name}: secret-looking variable defined in the pipeline")
    return findings


def test_the_pipeline_holds_no_secret():
    assert secret_findings(PIPELINE) == []


def _first_deploy_step(pipeline: dict) -> dict:
    """The step that reads the stack's variables (dev's plan)."""
    return next(s for s in job_steps(stages(pipeline)["plan_dev"]["jobs"][0]) if "terraform plan" in step_script(s))


DOCTORED = {
    "client-secret-input": lambda p: _first_deploy_step(p)["inputs"].update(clientSecret="$(sp-secret)"),
    "client-secret-env": lambda p: _first_deploy_step(p)["env"].update(ARM_CLIENT_SECRET="$(sp-secret)"),
    "pat-variable": lambda p: p["variables"].append({"name": "AZURE_DEVOPS_EXT_PAT", "value": "$(pat)"}),
    "databricks-token": lambda p: p["variables"].append(
        {"name": "host_auth", "value": "dapi" + "0123456789abcdef" * 2}
    ),
    "password-variable": lambda p: p["variables"].append({"name": "db_password", "value": "hunter22"}),
    "webhook-literal": lambda p: _first_deploy_step(p)["env"].update(
        TF_VAR_drift_webhook_url_dev="https://hooks.slack.com/services/T000/B000/XXXXXXXX"
    ),
    "url-with-credentials": lambda p: p["variables"].append(
        {"name": "MIRROR", "value": "https://build:s3cr3tpass@mirror.example.com/simple"}
    ),
    "storage-key": lambda p: p["variables"].append(
        {"name": "STATE", "value": "x" * 20 + "AbCdEf0123" * 6 + "=="}
    ),
    "jwt": lambda p: p["variables"].append(
        {"name": "ID", "value": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eHh4eHh4In0.sig"}
    ),
    "az-login-secret": lambda p: _first_deploy_step(p)["inputs"].update(
        inlineScript="az login --service-principal -u app -p Sup3rS3cretValue --tenant t"
    ),
}


@pytest.mark.parametrize("name", sorted(DOCTORED))
def test_the_check_finds_a_planted_secret(name):
    doctored = copy.deepcopy(PIPELINE)
    DOCTORED[name](doctored)
    assert secret_findings(doctored), f"planted {name} was not found"


# --- secrets that the stacks need come from the environment's Key Vault-linked group ---------------


def deploy_time_variables(env: str) -> set[str]:
    """Every Terraform variable the env's stack declares: its secrets, plus `warehouse_id` when
    the env file does not set `workspace.warehouse_id` (the example-app test checks this set
    against a real synthesized stack)."""
    config = yaml.safe_load((REPO / "envs" / f"{env}.yml").read_text(encoding="utf-8"))
    extra = set() if (config.get("workspace") or {}).get("warehouse_id") else {"warehouse_id"}
    return sensitive_variables(env) | extra


def sensitive_variables(env: str) -> set[str]:
    """TF variable names that envs/<env>.yml declares as secrets (webhook URLs, keys, basic auth)."""
    config = yaml.safe_load((REPO / "envs" / f"{env}.yml").read_text(encoding="utf-8"))
    names = set()
    for destination in (config.get("alerts") or {}).get("destinations", []):
        for key in ("secret_variable", "username_variable", "password_variable"):
            if destination.get(key):
                names.add(destination[key])
    return names


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_sensitive_variable_is_fed_from_the_environment_variable_group(env):
    assert sensitive_variables(env), f"envs/{env}.yml declares no secret; this test would check nothing"
    needed = deploy_time_variables(env)
    stage = stages(PIPELINE)[f"plan_{env}"]
    assert {"group": f"lakemon-{env}"} in stage["variables"]
    steps = [
        s for s in job_steps(stage["jobs"][0]) if "terraform plan" in (s.get("inputs") or {}).get("inlineScript", "")
    ]
    assert len(steps) == 1  # only the plan reads variables; apply takes them from the saved plan
    apply = [s for s in job_steps(stages(PIPELINE)[f"deploy_{env}"]["jobs"][0]) if "terraform apply" in step_script(s)]
    assert len(apply) == 1 and not any(k.startswith("TF_VAR_") for k in apply[0].get("env", {}))
    for step in steps:
        env_map = step.get("env", {})
        tf_vars = {k[len("TF_VAR_") :]: v for k, v in env_map.items() if k.startswith("TF_VAR_")}
        assert set(tf_vars) == needed, step["displayName"]
        for name, value in tf_vars.items():
            # Key Vault secret names allow letters, digits and '-': drift_webhook_url_dev is
            # stored as drift-webhook-url-dev.
            assert value == f"$({name.replace('_', '-')})"


def test_a_secret_of_one_environment_never_reaches_another():
    for env in ENVIRONMENTS:
        others = set().union(*(sensitive_variables(o) for o in ENVIRONMENTS if o != env))
        text = yaml.safe_dump([stages(PIPELINE)[f"plan_{env}"], stages(PIPELINE)[f"deploy_{env}"]])
        for name in others:
            assert name not in text and name.replace("_", "-") not in text, (env, name)


def test_auth_is_federated_identity_through_the_azure_cli():
    for env in ENVIRONMENTS:
        for stage in (f"plan_{env}", f"deploy_{env}"):
            variables = {v["name"]: v["value"] for v in stages(PIPELINE)[stage]["variables"] if "name" in v}
            assert variables["DATABRICKS_AUTH_TYPE"] == "azure-cli"
            assert variables["ARM_USE_AZUREAD"] == "true"  # AAD auth to the state storage, no keys
            assert variables["ARM_USE_OIDC"] == "true"  # state: Terraform's own Azure DevOps OIDC
    text = yaml.safe_dump(PIPELINE)
    assert "az login" not in text  # AzureCLI@2 logs in with the service connection's federated token
    assert not re.search(r"client_?secret|ARM_ACCESS_KEY|DATABRICKS_TOKEN", text, re.IGNORECASE)


def _guard_script(env: str, workspace: Path) -> str:
    """The deploy stage's check for unset Terraform variables, as bash would run it on the agent."""
    (plan,) = [
        s for s in job_steps(stages(PIPELINE)[f"plan_{env}"]["jobs"][0]) if "terraform plan" in step_script(s)
    ]
    lines = step_script(plan).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("python3 - "))
    end = lines.index("PY", start)
    return "\n".join(lines[start : end + 1]).replace("$(Pipeline.Workspace)", str(workspace)) + "\n"


@pytest.mark.parametrize(
    ("tf_vars", "unset"),
    [
        ({"TF_VAR_drift_webhook_url_dev": "https://hooks.example/abc", "TF_VAR_warehouse_id": "abc123"}, []),
        ({"TF_VAR_warehouse_id": "abc123"}, ["drift_webhook_url_dev"]),
        # A group variable missing from Key Vault reaches the step as the literal macro text.
        (
            {"TF_VAR_drift_webhook_url_dev": "$(drift-webhook-url-dev)", "TF_VAR_warehouse_id": ""},
            ["drift_webhook_url_dev", "warehouse_id"],
        ),
    ],
)
def test_a_deploy_stops_before_planning_when_a_stack_variable_is_unset(tmp_path, tf_vars, unset):
    stack_dir = tmp_path / "cdktf.out" / "stacks" / "dev"
    stack_dir.mkdir(parents=True)
    declared = {
        "drift_webhook_url_dev": {"type": "string", "sensitive": True},
        "warehouse_id": {"type": "string"},
        "with_default": {"type": "string", "default": "x"},
    }
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"variable": declared}), encoding="utf-8")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _guard_script("dev", tmp_path)],
        env={"PATH": os.environ["PATH"], **tf_vars},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == (1 if unset else 0), done.stdout + done.stderr
    reported = re.findall(r"type=error\]TF_VAR_(\w+) is not set", done.stdout)
    assert reported == unset
    if unset:
        assert "variable group lakemon-dev" in done.stdout
