"""`lakemon diff <env>`: what a config or code change does to one stack, offline.

It synthesizes the project's CDKTF app into a temporary folder (as `cdktf synth` runs it; the
project's own cdktf.out is never touched) and compares that environment's `cdk.tf.json`, block
by block, with a reference: the committed snapshot `tests/stacks/snapshots/<env>.json` when the
project has one (this repository), else the last synth in `cdktf.out/stacks/<env>/`, or the file
named by `--against`. No credentials and no network: Terraform is not run, so it shows what
lakemon will ask Terraform to manage, not what the workspace holds (`cdktf diff`, which needs a
login, shows that).

Exit codes: 0 no difference, 1 differences (as `diff`), 2 usage (no such environment, no app,
no reference, a synth that failed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lakemon
from lakemon.tooling import quiet_cdktf_environment

from . import arguments
from .context import missing_environment
from .errors import UsageError
from .project_layout import find_app, project_root

EXIT_SAME, EXIT_DIFFERENT = 0, 1
SYNTH_TIMEOUT_S = 300
SNAPSHOT_DIR = Path("tests") / "stacks" / "snapshots"
VALUE_CHARS = 120
"""Longest value printed on a changed line (longer ones are shortened with an ellipsis)."""

_ASSET_HASH = re.compile(r"(assets/[^/\"]+/)[0-9A-F]{32}/")
_WHEEL_DIGEST = re.compile(r"(/wheels/)[0-9a-f]{16}/")


def normalize(text: str) -> str:
    """Asset folders and the wheel's volume path carry a content hash, and the lakemon version
    (the wheel's name, the stack output, the job tags) changes with every commit: the snapshots
    and this diff compare everything else (tests/stacks keeps the snapshots with it)."""
    text = _ASSET_HASH.sub(r"\1<HASH>/", text)
    text = _WHEEL_DIGEST.sub(r"\1<SHA256>/", text)
    return text.replace(lakemon.__version__, "<VERSION>")


def blocks(stack: dict[str, Any]) -> dict[str, Any]:
    """Addressable blocks of a synthesized stack: `<type>.<name>` for resources,
    `data.<type>.<name>`, `variable.<name>`, `output.<name>`, `import.<n>` ...; other top-level
    keys (terraform, provider, locals) as themselves. `//` (cdktf metadata) is left out."""
    out: dict[str, Any] = {}
    for key, value in stack.items():
        if key == "//":
            continue
        if key in ("resource", "data") and isinstance(value, dict):
            prefix = "" if key == "resource" else "data."
            for rtype, named in value.items():
                for name, body in named.items():
                    out[f"{prefix}{rtype}.{name}"] = body
        elif key in ("variable", "output") and isinstance(value, dict):
            for name, body in value.items():
                out[f"{key}.{name}"] = body
        else:
            out[key] = value
    return out


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, item in value.items():
            if key == "//":
                continue
            found.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return found or {path: {}}
    if isinstance(value, list):
        found = {}
        for i, item in enumerate(value):
            found.update(_leaves(item, f"{path}[{i}]"))
        return found or {path: []}
    return {path: value}


@dataclass
class StackDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    """address -> [(key path, reference value, new value)]; a side without the key shows ABSENT."""
    total: int = 0

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": {a: [{"path": p, "before": b, "after": n} for p, b, n in c] for a, c in self.changed.items()},
            "blocks": self.total,
        }


ABSENT = "<absent>"


def compare(reference: dict[str, Any], new: dict[str, Any]) -> StackDiff:
    """Block by block, then key path by key path inside a changed block."""
    old_blocks, new_blocks = blocks(reference), blocks(new)
    diff = StackDiff(total=len(new_blocks))
    diff.added = sorted(set(new_blocks) - set(old_blocks))
    diff.removed = sorted(set(old_blocks) - set(new_blocks))
    for address in sorted(set(old_blocks) & set(new_blocks)):
        if old_blocks[address] == new_blocks[address]:
            continue
        before, after = _leaves(old_blocks[address]), _leaves(new_blocks[address])
        diff.changed[address] = [
            (path, before.get(path, ABSENT), after.get(path, ABSENT))
            for path in sorted(set(before) | set(after))
            if before.get(path, ABSENT) != after.get(path, ABSENT)
        ]
    return diff


def _show(value: Any) -> str:
    text = value if value == ABSENT else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def describe(diff: StackDiff) -> list[str]:
    lines = [f"+ {a}" for a in diff.added] + [f"- {a}" for a in diff.removed]
    for address, changes in diff.changed.items():
        lines.append(f"~ {address}")
        lines += [f"    {path}: {_show(before)} -> {_show(after)}" for path, before, after in changes]
    return lines


class DiffError(UsageError):
    """The diff cannot be made (no app, no reference, the synth failed): one line, exit 2."""


def find_reference(root: Path, env: str, against: Path | None) -> tuple[Path, str]:
    """(file, what it is): --against, else the committed snapshot, else the last synth."""
    if against is not None:
        if not against.is_file():
            raise DiffError(f"--against {against}: no such file")
        return against, "the file given with --against"
    snapshot = root / SNAPSHOT_DIR / f"{env}.json"
    if snapshot.is_file():
        return snapshot, "the committed snapshot"
    last = root / "cdktf.out" / "stacks" / env / "cdk.tf.json"
    if last.is_file():
        return last, "the last synth (cdktf.out)"
    raise DiffError(
        f"nothing to compare the {env} stack with: no {snapshot.relative_to(root)} and no {last.relative_to(root)}; "
        "run `npx cdktf synth` once before the change (or pass --against FILE)"
    )


def synthesize(app: Path, root: Path, env: str, outdir: Path) -> dict[str, Any]:
    """Run the app once, as `cdktf synth` does, into `outdir`; the stack of `env`."""
    environment = dict(quiet_cdktf_environment(dict(os.environ)))
    environment["CDKTF_OUTDIR"] = str(outdir)
    try:
        done = subprocess.run(
            [sys.executable, str(app)], cwd=root, env=environment, capture_output=True, text=True,
            timeout=SYNTH_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise DiffError(f"the synth of {app} did not finish within {SYNTH_TIMEOUT_S}s") from None
    if done.returncode != 0:
        raise DiffError(f"the synth of {app} failed:\n{(done.stderr or done.stdout).strip()[-3000:]}")
    path = outdir / "stacks" / env / "cdk.tf.json"
    if not path.is_file():
        raise DiffError(f"the app synthesized no stack {env} (stacks: {', '.join(sorted(p.name for p in (outdir / 'stacks').glob('*')))})")
    return read_stack(path)


def read_stack(path: Path) -> dict[str, Any]:
    """A synthesized stack or snapshot, normalized; DiffError when it cannot be read as JSON."""
    try:
        return json.loads(normalize(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise DiffError(f"cannot read {path}: {exc}") from None


add_arguments = arguments.diff
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    env_file = (args.env_file or Path("envs") / f"{args.env}.yml").resolve()
    env = env_file.stem
    missing = missing_environment(args.env, args.env_file)
    out = sys.stderr if args.json else sys.stdout
    try:
        if missing:
            raise DiffError(missing)
        app = find_app(env_file)
        if app is None:
            raise DiffError(f"no CDKTF app next to {env_file} (stacks/app.py, or app.py with cdktf.json)")
        root = project_root(app)
        reference, what = find_reference(root, env, args.against)
        with tempfile.TemporaryDirectory(prefix="lakemon-diff-") as tmp:
            new = synthesize(app, root, env, Path(tmp) / "cdktf.out")
        old = read_stack(reference)
    except DiffError as exc:
        print(f"lakemon diff: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"env": env, "error": str(exc), "exit_code": exc.exit_code}, indent=2))
        return exc.exit_code
    diff = compare(old, new)
    print(f"lakemon diff {env}: {env_file} synthesized now vs {what} {reference} (offline: no credentials, no Terraform)", file=out)
    for line in describe(diff):
        print(line, file=out)
    summary = (
        "no difference" if diff.same
        else f"{len(diff.changed)} changed, {len(diff.added)} added, {len(diff.removed)} removed (of {diff.total} blocks)"
    )  # fmt: skip
    print(f"lakemon diff {env}: {summary}", file=out)
    code = EXIT_SAME if diff.same else EXIT_DIFFERENT
    if args.json:
        print(json.dumps({"env": env, "reference": str(reference), "reference_kind": what, **diff.to_json(),
                          "exit_code": code}, indent=2, default=str))  # fmt: skip
    return code
