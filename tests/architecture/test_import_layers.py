"""The packages have no import circles, and the construct library is layered.

Layers of `lakemon` (lower never imports higher):
  base:  config, names and helpers every layer uses (no construct classes);
  L2:    one construct per concept (catalog, serving, monitoring, alerting, jobs) and the policy
         aspects; they take what they need as props and never look up the stack;
  L3:    the patterns that compose them: `MonitoredModel` and `LakemonStack`;
  top:   the package itself (its lazy re-exports).
The job scripts (`lakemon_jobs`) use the base layer only, never cdktf.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from import_graph import circles, imported_names, internal_graph, module_files

REPO = Path(__file__).resolve().parents[2]
LAKEMON = REPO / "constructs" / "lakemon"
JOBS = REPO / "scripts" / "lakemon_jobs"

BASE = {
    "lakemon._version", "lakemon._marks", "lakemon._signatures", "lakemon.errors", "lakemon.principals",
    "lakemon.statistics", "lakemon.tables", "lakemon.tooling", "lakemon.variables", "lakemon.wheel",
    "lakemon.alerting.queries", "lakemon.templates", "lakemon.starter", "lakemon.model_props",
    "lakemon.monitor_analysis", "lakemon.gateway", "lakemon.serverless",
}  # fmt: skip
L2_PACKAGES = ("lakemon.catalog", "lakemon.serving", "lakemon.monitoring", "lakemon.alerting", "lakemon.jobs", "lakemon.policy")
L3 = {"lakemon.monitored_model", "lakemon.stack"}
TOP = {"lakemon"}
CDK_LIBRARIES = ("cdktf", "cdktf_cdktf_provider_databricks", "constructs")


def layer(module: str) -> int:
    if module in TOP:
        return 3
    if module in L3:
        return 2
    if module in BASE or module.startswith("lakemon.config"):
        return 0
    if module.startswith(L2_PACKAGES):
        return 1
    raise AssertionError(f"{module} has no layer: add it to tests/architecture/test_import_layers.py")


@pytest.mark.parametrize("root", [LAKEMON, JOBS], ids=["lakemon", "lakemon_jobs"])
def test_no_import_circles(root):
    assert circles(internal_graph(root)) == []


def test_the_circle_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_lower_layers_never_import_higher_ones():
    graph = internal_graph(LAKEMON)
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in graph.items()
        for target in targets
        if layer(target) > layer(module) and not (module in L2_PACKAGES and target.startswith(module + "."))
    ]
    # a package's __init__ re-exporting its own submodules is not an upward import
    upward = [u for u in upward if not any(u.startswith(f"{p} ") and f"imports {p}." in u for p in L2_PACKAGES)]
    assert upward == []


def test_constructs_below_the_patterns_never_look_up_the_stack():
    offenders = [
        str(file.relative_to(REPO))
        for module, file in module_files(LAKEMON).items()
        if layer(module) < 2 and "LakemonStack.of(" in file.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_job_scripts_never_import_cdktf_or_the_constructs():
    library = module_files(LAKEMON)
    offenders = []
    for module, file in module_files(JOBS).items():
        for name in imported_names(module, file):
            if name.split(".")[0] in CDK_LIBRARIES:
                offenders.append(f"{module}: {name}")
            elif name.startswith("lakemon."):
                target = name
                while target not in library:
                    target = target.rpartition(".")[0]
                if layer(target) > 0:
                    offenders.append(f"{module}: {name}")
    assert offenders == []


def test_importing_every_job_module_loads_no_cdk_library():
    """The same, at run time: what the jobs import pulls in no cdktf (a Databricks job would pay
    for loading the bindings, about 2 s, and could not run without them)."""
    modules = sorted(m for m in module_files(JOBS) if ".datasets." not in m)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        f"print(sorted(k for k in sys.modules if k.split('.')[0] in {CDK_LIBRARIES!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


JOB_STEPS = {f"lakemon_jobs.{name}" for name in ("train", "register", "deploy", "unpack", "refresh", "preflight")}
"""The job scripts the flow runs one after another: shared steps live in lakemon_jobs.model_steps
(and the other helpers), so a later job never imports an earlier one."""


def test_no_job_script_imports_another_job_script():
    files = module_files(JOBS)
    assert JOB_STEPS <= set(files), "a job script was renamed: update JOB_STEPS"
    offenders = sorted(
        f"{module} imports {name}"
        for module in JOB_STEPS
        for name in imported_names(module, files[module])
        if any(name == other or name.startswith(other + ".") for other in JOB_STEPS - {module})
    )
    assert offenders == []
