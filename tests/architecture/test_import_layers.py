"""The packages have no import circles, and both are layered by folder: no arrow runs up.

Layers of `lakemon` (lower never imports higher):
  0 contract: `lakemon.contract` (the names and shapes both halves share) and `lakemon.config`;
  1 base:     the helper modules at the package's top level (no construct classes);
  2 L2:       one construct per concept, one folder each (catalog, serving, monitoring, alerting,
              jobs) and the policy aspects; they take what they need as props and never look up
              the stack;
  3 L3:       the patterns that compose them: `MonitoredModel`, `LakemonStack` and the
              per-environment pieces they share (`EnvironmentPieces`);
  4 top:      the package itself (its lazy re-exports).
The contract imports nothing but itself and the config, never cdktf.

Layers of `lakemon_jobs`:
  0 `lakemon_jobs.errors`:        the base of every expected job failure and the exit codes
                                  (imports nothing of the package, so every layer raises from it);
    `lakemon_jobs.local`:         the local runtime pieces (root folders, Delta files, endpoints, runs);
  1 `lakemon_jobs.table_engines`: the Delta/Spark table engines, on top of the local layer;
  2 the jobs:                     every other module (the job scripts and their helpers);
  3 `lakemon_jobs.embedded` and `lakemon_jobs.cli`: the rehearsal and the command line on top.
The job scripts import from `lakemon` only layers 0 and 1 (contract, config, base helpers), never
cdktf: a Databricks job runs without the CDK bindings.
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

CONTRACT_PACKAGES = ("contract", "config")
L2_PACKAGES = ("catalog", "serving", "monitoring", "alerting", "jobs", "policy")
L3 = {"lakemon.env_pieces", "lakemon.monitored_model", "lakemon.stack"}
CDK_LIBRARIES = ("cdktf", "cdktf_cdktf_provider_databricks", "constructs")


def layer(module: str) -> int:
    """The layer of a `lakemon` module, from its folder (see the module docstring)."""
    parts = module.split(".")
    if module == "lakemon":
        return 4
    if module in L3:
        return 3
    if parts[1] in CONTRACT_PACKAGES:
        return 0
    if parts[1] in L2_PACKAGES:
        return 2
    if (LAKEMON / f"{parts[1]}.py").is_file() or (LAKEMON / parts[1] / "__init__.py").is_file():
        return 1
    raise AssertionError(f"{module}: no such module under constructs/lakemon")


def jobs_layer(module: str) -> int:
    """The layer of a `lakemon_jobs` module, from its folder (see the module docstring)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return {"errors": 0, "local": 0, "table_engines": 1, "embedded": 3, "cli": 3}.get(top, 2)


def _upward(graph: dict[str, set[str]], layer_of) -> list[str]:
    return sorted(
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(module) and not _own_init(module, target)
    )


def _own_init(module: str, target: str) -> bool:
    """A package's __init__ re-exporting its own submodules is not an upward import."""
    return target.startswith(module + ".")


@pytest.mark.parametrize("root", [LAKEMON, JOBS], ids=["lakemon", "lakemon_jobs"])
def test_no_import_circles(root):
    assert circles(internal_graph(root)) == []


def test_the_circle_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_lower_layers_never_import_higher_ones():
    assert _upward(internal_graph(LAKEMON), layer) == []


def test_lower_job_layers_never_import_higher_ones():
    assert _upward(internal_graph(JOBS), jobs_layer) == []


def test_the_layer_check_finds_an_upward_arrow():
    graph = {"lakemon_jobs.local.runs": {"lakemon_jobs.embedded.loop"}, "lakemon_jobs.train": {"lakemon_jobs.local.runs"}}
    assert _upward(graph, jobs_layer) == [
        "lakemon_jobs.local.runs (layer 0) imports lakemon_jobs.embedded.loop (layer 3)"
    ]


def test_nothing_outside_the_rehearsal_imports_it():
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in internal_graph(JOBS).items()
        if not module.startswith("lakemon_jobs.embedded")
        for target in targets
        if target.startswith("lakemon_jobs.embedded")
    )
    assert offenders == []


def test_the_contract_imports_only_itself_and_the_config():
    files = module_files(LAKEMON)
    offenders = sorted(
        f"{module}: {name}"
        for module, file in files.items()
        if layer(module) == 0
        for name in imported_names(module, file)
        if name.split(".")[0] in CDK_LIBRARIES
        or (name.startswith("lakemon") and name.split(".")[:2] != ["lakemon", "contract"] and not name.startswith("lakemon.config"))
    )
    assert offenders == []


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
                if layer(target) > 1:
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
