"""`lakemon doctor`: check the tools and access a deploy needs, and say how to fix each gap.

Why: the first `npx cdktf diff` of a new user otherwise fails deep inside Terraform (a raw
authorizer error without `az login`, a backend error when the state storage does not exist).
Each check prints one line, `ok`, `warn` or `FAIL`, and for anything not ok the fix. Runs with
the construct library alone (no [jobs] extra); every probe has a timeout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from lakemon._version import __version__
from lakemon.config import ConfigError, Environment, environment_files, load_environment
from lakemon.config.model import AzurermState
from lakemon.serverless import JOBS_ENVIRONMENT
from lakemon.tooling import NODE_MAJOR_TESTED, quiet_cdktf_environment
from lakemon.wheel import PROJECT_WHEELS, WHEEL_NAME, source_root

from . import arguments
from .jobs_extra import JOBS_EXTRA_MODULES
from .monitor_migration import state_monitors

PROBE_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_S = 5.0
TRIAL_HINT = "for a trial without Azure, set `state: {backend: local}` in the env file"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" or "FAIL"
    detail: str
    fix: str = ""


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str] | None:
    """Run a probe; None when it cannot start or does not answer in time."""
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            cwd=cwd,
            env=dict(quiet_cdktf_environment(dict(os.environ))),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        return Check(
            "python",
            "FAIL",
            f"Python {version}; lakemon supports 3.11 and 3.12",
            f"create the venv with python{JOBS_ENVIRONMENT.python_minor} (the jobs' serverless environment "
            f"{JOBS_ENVIRONMENT.version} runs Python {JOBS_ENVIRONMENT.python})",
        )
    return Check("python", "ok", f"Python {version}")


def check_jobs_extra() -> Check:
    missing = sorted(dist for module, dist in JOBS_EXTRA_MODULES.items() if importlib.util.find_spec(module) is None)
    if missing:
        return Check(
            "jobs extra",
            "warn",
            f"not installed ({', '.join(missing)} missing): synth and deploy work, run-local and the job subcommands do not",
            f'pip install "lakemon[jobs]=={__version__}"',
        )
    return Check("jobs extra", "ok", "installed (run-local and the job subcommands work here)")


def check_node(project: Path) -> Check:
    """The Node cdktf will run on in `project`: its own `node_modules/node` (package.json pins
    the npm `node` package) when installed, else `node` on PATH."""
    local = project / "node_modules" / "node" / "bin" / "node"
    node = str(local) if local.is_file() else shutil.which("node")
    fix = f"run `npm install` in the project (package.json pins Node {NODE_MAJOR_TESTED} as the `node` package)"
    if node is None:
        return Check("node", "FAIL", "no node in the project's node_modules or on PATH", f"install Node.js (any version runs npm), then {fix[4:]}")
    done = _run([node, "--version"])
    version = done.stdout.strip() if done else ""
    match = re.match(r"v(\d+)\.", version)
    if not match:
        return Check("node", "FAIL", f"{node} did not report a version", fix)
    if int(match.group(1)) < NODE_MAJOR_TESTED:
        return Check(
            "node",
            "FAIL",
            f"cdktf would run on Node {version} ({node}), which is end-of-life or older than lakemon supports",
            fix,
        )
    if int(match.group(1)) != NODE_MAJOR_TESTED:
        return Check("node", "warn", f"Node {version} ({node}); lakemon is tested with Node {NODE_MAJOR_TESTED}", fix)
    return Check("node", "ok", f"Node {version} ({node})")


def check_jobs_artifact(env: Environment, source: Path, project: Path) -> Check:
    """The jobs must name one exact artifact: the project's release wheel (uploaded by synth),
    or an explicit index with an exact version. A bare name with no index is refused."""
    name = f"jobs artifact ({source.name})"
    named = os.environ.get("LAKEMON_WHEEL")
    if named:
        if Path(named).is_file():
            return Check(name, "ok", f"the jobs install {named} ($LAKEMON_WHEEL), uploaded by synth under its SHA-256")
        return Check(name, "FAIL", f"$LAKEMON_WHEEL names {named}, which does not exist", "point LAKEMON_WHEEL at the release wheel")
    if source_root() is not None:
        return Check(name, "ok", "lakemon runs from its source tree: synth builds and uploads this checkout's wheel")
    wheel = project / PROJECT_WHEELS / WHEEL_NAME
    if wheel.is_file():
        return Check(name, "ok", f"the jobs install {PROJECT_WHEELS}/{WHEEL_NAME}, uploaded by synth under its SHA-256")
    if env.jobs.package_index:
        if "+" in WHEEL_NAME:
            return Check(
                name, "FAIL", f"this lakemon is a development build ({WHEEL_NAME}) that no index serves",
                f"put its wheel into {PROJECT_WHEELS}/ (docs/using-lakemon.md)",
            )
        return Check(name, "ok", f"the jobs install lakemon[jobs] at exactly this version with --index-url {env.jobs.package_index}")
    return Check(
        name,
        "FAIL",
        f"no wheel {PROJECT_WHEELS}/{WHEEL_NAME} and no `jobs.package_index`: the jobs would install a bare "
        "`lakemon` from whatever index the workspace uses (synth refuses)",
        f"put the release wheel you installed into {project / PROJECT_WHEELS}/ (docs/using-lakemon.md), "
        f"or set `jobs.package_index` in {source.name} to the index that serves this release",
    )


def check_terraform() -> Check:
    terraform = shutil.which("terraform")
    fix = "install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install)"
    if terraform is None:
        return Check("terraform", "FAIL", "terraform is not on PATH", fix)
    done = _run([terraform, "version", "-json"])
    try:
        version = json.loads(done.stdout)["terraform_version"] if done else ""
    except (ValueError, KeyError):
        version = ""
    if not version:
        return Check("terraform", "FAIL", f"{terraform} did not report a version", fix)
    return Check("terraform", "ok", f"Terraform {version}")


def check_cdktf_cli(project: Path) -> Check:
    local = project / "node_modules" / ".bin" / "cdktf"
    cli = str(local) if local.exists() else shutil.which("cdktf")
    if cli is None:
        fix = "run `npm install` in the project (package.json pins cdktf-cli)"
        if not (project / "package.json").is_file():
            fix = "run `lakemon init <folder>` for a project with a pinned cdktf-cli, then `npm install`"
        return Check("cdktf-cli", "FAIL", f"no cdktf CLI in {project}/node_modules or on PATH", fix)
    done = _run([cli, "--version"], cwd=project)
    found = re.search(r"\d+\.\d+\.\d+", done.stdout if done else "")
    version = found.group(0) if found else "(version unknown)"
    return Check("cdktf-cli", "ok", f"cdktf {version}")


def check_azure_login() -> Check:
    az = shutil.which("az")
    if az is None:
        return Check(
            "azure login",
            "warn",
            "the Azure CLI (az) is not installed: the Databricks provider and the azurerm backend "
            "need another credential (OIDC in a pipeline, or DATABRICKS_* variables)",
            "install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli) and run `az login`; "
            + TRIAL_HINT,
        )
    done = _run([az, "account", "show", "--output", "json"])
    if done is None or done.returncode != 0:
        return Check(
            "azure login",
            "FAIL",
            "`az account show` failed: not logged in (cdktf diff/deploy would stop with a Terraform authorizer error)",
            "run `az login` (and `az account set --subscription <id>` for the state storage's subscription)",
        )
    try:
        account = json.loads(done.stdout)
        who = f"{account.get('user', {}).get('name', '?')} in subscription {account.get('name', '?')}"
    except ValueError:
        who = "logged in"
    return Check("azure login", "ok", who)


def _connect(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
        pass


def _reachable(host: str, port: int = 443) -> str | None:
    """None when a TCP connection to host:port opens in time, else why not. The DNS lookup has no
    timeout of its own (getaddrinfo blocks), so the whole probe runs in a thread we stop waiting for."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakemon-doctor-probe")
    try:
        pool.submit(_connect, host, port).result(timeout=2 * CONNECT_TIMEOUT_S)
        return None
    except socket.gaierror:
        return f"{host} does not resolve (DNS)"
    except FutureTimeout:
        return f"{host}:{port} did not answer within {2 * CONNECT_TIMEOUT_S:.0f}s"
    except OSError as exc:
        return f"{host}:{port} is not reachable ({exc.strerror or exc})"
    finally:
        pool.shutdown(wait=False)


def check_state_backend(env: Environment, source: Path) -> Check:
    name = f"state backend ({source.name})"
    state = env.state
    if not isinstance(state, AzurermState):
        return Check(name, "ok", f"local state file {state.path} (fine for a trial; a team deploys with azurerm)")
    host = f"{state.storage_account_name}.blob.core.windows.net"
    problem = _reachable(host)
    if problem:
        return Check(
            name,
            "FAIL",
            f"state storage account {state.storage_account_name}: {problem}",
            "create the storage account and container (docs/deploy.md, one-time Azure setup) or fix "
            f"state.storage_account_name; {TRIAL_HINT}",
        )
    az = shutil.which("az")
    if az is None:
        return Check(name, "warn", f"{host} answers; container access not checked (no az)", TRIAL_HINT)
    done = _run(
        [az, "storage", "container", "exists", "--account-name", state.storage_account_name,
         "--name", state.container_name, "--auth-mode", "login", "--output", "json"]
    )
    exists = False
    if done is not None and done.returncode == 0:
        try:
            exists = bool(json.loads(done.stdout).get("exists"))
        except ValueError:
            exists = False
    if not exists:
        why = (done.stderr.strip().splitlines() or ["no answer"])[-1] if done else "no answer in time"
        return Check(
            name,
            "FAIL",
            f"container {state.container_name} in {state.storage_account_name} is missing or not readable: {why}",
            "create it, and grant yourself `Storage Blob Data Contributor` on the account "
            f"(docs/deploy.md); {TRIAL_HINT}",
        )
    return Check(name, "ok", f"{state.storage_account_name}/{state.container_name} (key {state.key_prefix}/{env.name}.tfstate)")


def check_workspace(env: Environment, source: Path) -> Check:
    host = re.sub(r"^https://", "", env.workspace.host).rstrip("/")
    problem = _reachable(host)
    if problem:
        return Check(
            f"workspace ({source.name})",
            "warn",
            problem,
            "fix workspace.host (the URL of your Azure Databricks workspace); synth works without it, deploy does not",
        )
    return Check(f"workspace ({source.name})", "ok", f"{host} answers")


MONITOR_API_OF = {"databricks_data_quality_monitor": "data_quality", "databricks_quality_monitor": "legacy"}


def monitor_api_check(env: Environment, show_json: dict | None, where: str) -> Check:
    """Which API the deployed stack's monitors use (the resource type in its Terraform state), and
    whether the next deploy moves them to the declared one (`monitoring.api`)."""
    name = f"monitor API ({env.name})"
    declared = env.monitoring.api
    if show_json is None:
        return Check(name, "ok", f"declares {declared}; deployed: unknown (no initialised {where})")
    deployed = sorted({(MONITOR_API_OF[m.type], m.table) for m in state_monitors(show_json)})
    if not deployed:
        return Check(name, "ok", f"declares {declared}; no monitor deployed yet")
    apis = {api for api, _ in deployed}
    detail = "deployed: " + ", ".join(f"{table} on {api}" for api, table in deployed) + f"; declares {declared}"
    if apis == {declared}:
        return Check(name, "ok", detail)
    if declared == "data_quality":
        return Check(
            name, "warn", detail + " (the deprecated quality_monitors API)",
            "the next deploy carries the monitor over (preflight: removed + import, never re-created); "
            "see docs/deploy.md, \"Moving a deployed monitor\"",
        )
    return Check(name, "warn", detail, "the next deploy carries the monitor back to the legacy resource (preflight)")


def check_monitor_api(env: Environment, project: Path) -> Check:
    """`terraform show -json` in the env's synthesized, initialised stack folder, if there is one."""
    folder = project / "cdktf.out" / "stacks" / env.name
    where = f"cdktf.out/stacks/{env.name}"
    if not (folder / ".terraform").is_dir():
        return monitor_api_check(env, None, where)
    result = _run(["terraform", "show", "-json", "-no-color"], cwd=folder)
    if result is None or result.returncode != 0:
        return Check(
            f"monitor API ({env.name})", "warn", f"terraform show failed in {where}",
            "run `terraform init` there (with the backend settings) and retry",
        )
    return monitor_api_check(env, json.loads(result.stdout or "{}"), where)


def _env_files(args: argparse.Namespace) -> list[Path]:
    if args.env_file:
        return [args.env_file]
    envs_dir = args.project / "envs"
    return list(environment_files(envs_dir)) if envs_dir.is_dir() else []


def checks(args: argparse.Namespace) -> Iterator[Check]:
    tools: list[Callable[[], Check]] = [
        check_python,
        check_jobs_extra,
        lambda: check_node(args.project),
        check_terraform,
        lambda: check_cdktf_cli(args.project),
    ]
    for tool in tools:
        yield tool()
    yield check_azure_login()
    files = _env_files(args)
    if not files:
        yield Check("env files", "FAIL", f"no env file in {args.project / 'envs'}", "run `lakemon init <folder>`, or pass --env-file")
    for path in files:
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yml"))) or "none"
            yield Check(
                f"env file {path}", "FAIL", f"{path} does not exist (env files in {path.parent}: {known})",
                "pass --env-file with an existing file, or run `lakemon init <folder>` to write one",
            )
            continue
        try:
            env = load_environment(path)
        except ConfigError as exc:
            yield Check(f"env file {path.name}", "FAIL", str(exc).replace("\n", "; "), "fix the keys named in the detail")
            continue
        yield check_jobs_artifact(env, path, args.project)
        yield check_state_backend(env, path)
        if not args.offline:
            yield check_workspace(env, path)
        yield check_monitor_api(env, args.project)


add_arguments = arguments.doctor
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    failed = 0
    if getattr(args, "json", False):
        found = list(checks(args))
        failed = sum(c.status == "FAIL" for c in found)
        print(json.dumps({"ok": not failed, "failed": failed, "checks": [vars(c) for c in found]}, indent=2))
        return 1 if failed else 0
    for check in checks(args):
        print(f"{check.status:>4}  {check.name}: {check.detail}")
        if check.fix and check.status != "ok":
            print(f"      fix: {check.fix}")
        failed += check.status == "FAIL"
    print("lakemon doctor: " + ("everything needed is in place" if not failed else f"{failed} problem(s) to fix"))
    sys.stdout.flush()
    return 1 if failed else 0
