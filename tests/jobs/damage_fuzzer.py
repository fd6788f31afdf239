"""Damaged local Delta tables: every case a clear line, or a result equal to an undamaged run.

A seeded home (payloads in four commits, the first three unpacked, refreshed and judged) is
copied per case, one table is damaged, and the job that reads that table next runs from the
command line entry point (`cli.main`, in process). Damages: the newest commit file removed,
truncated or garbled, a commit in the middle removed (a gap), a data file truncated, deleted,
or with one byte flipped at a seeded position. Outcomes:

- **held**: exit 0 and the job's tables equal those of the same job on an undamaged copy;
- **clean**: a non-zero exit with a message naming the damaged table and no traceback;
- **traceback**: the job raised;
- **latent**: exit 0, but the damage sits in a column the job did not read; reading the whole
  table back afterwards ends in the one-line TableDamaged error;
- **undetectable**: exit 0 with different tables, where the damage is one of the two documented
  undetectable kinds: a flipped byte that still decodes (no page checksums, see
  tables/integrity.py), or the removal of a commit no lakemon run had seen yet (Delta then has
  no trace of it);
- **wrong**: any other exit 0 with different tables, or a non-zero exit whose last line does not
  name the table.

Run `python tests/jobs/damage_fuzzer.py --seed S` for the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobs_helpers import DEV_ENV  # noqa: E402
from unpack_helpers import REC, REC2, payload, response, write_payloads  # noqa: E402

from lakemon_jobs.cli import main  # noqa: E402
from lakemon_jobs.context import JobContext  # noqa: E402
from lakemon_jobs.table_engines import engine_for  # noqa: E402
from lakemon_jobs.table_engines.integrity import TableDamaged  # noqa: E402

AS_OF = "2026-01-04T00:00:00+00:00"
JOB_ARGS = {"unpack": ["--no-retention"], "refresh": [], "analyze-drift": ["--as-of", AS_OF, "--no-alerts"]}
LOG_DAMAGES = ("remove newest commit", "truncate newest commit", "garble newest commit", "remove a middle commit")
FILE_DAMAGES = ("truncate a data file", "delete a data file", "flip a byte in a data file")


@dataclass(frozen=True)
class Case:
    table: str  # attribute of ModelTables
    job: str
    damage: str
    seed: int


READERS = {"payload": "unpack", "inference_log": "refresh", "quarantine": "unpack",
           "profile_metrics": "analyze-drift", "drift_metrics": "analyze-drift"}


def _payloads(start: int, n: int) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        rec = REC if i % 3 else REC2
        text = response(0.8, 0.3) if i % 25 else "not json"
        rows.append(payload(i, {"dataframe_records": [rec, {**rec, "appearances": i}]}, text, minutes=i * 14))
    return rows


def _run(job: str, home: Path) -> tuple[int | None, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main([job, "--env-file", str(DEV_ENV), "--home", str(home), *JOB_ARGS[job]])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # noqa: BLE001 - a traceback is an outcome here
            return None, f"{type(exc).__name__}: {exc}"
    return code, out.getvalue()


def make_seed(base: Path) -> Path:
    home = base / "seed"
    ctx = JobContext.load(DEV_ENV, home=home)
    for k in range(3):
        write_payloads(ctx, _payloads(k * 100, 100))
    for job in ("unpack", "refresh", "analyze-drift"):
        code, out = _run(job, home)
        assert code in (0, 3), out
    write_payloads(ctx, _payloads(300, 60))  # a commit no run has read yet
    return home


def _snapshot(job: str, home: Path) -> dict[str, pd.DataFrame]:
    ctx = JobContext.load(DEV_ENV, home=home)
    engine = engine_for(ctx)
    names = {"unpack": [ctx.tables.inference_log, ctx.tables.quarantine],
             "refresh": [ctx.tables.profile_metrics, ctx.tables.drift_metrics],
             "analyze-drift": [ctx.tables.drift_verdicts]}[job]
    out = {}
    for name in names:
        frame = engine.read_table(name)
        keep = [c for c in frame.columns if c not in {"quarantined_at", "run_id", "judged_at"}]
        out[name] = frame[keep].astype(str).sort_values(keep).reset_index(drop=True)
    return out


def damage(table_path: Path, what: str, rng: random.Random) -> None:
    log = table_path / "_delta_log"
    commits = sorted(log.glob("*.json"))
    files = sorted(p for p in table_path.rglob("*.parquet") if "_delta_log" not in p.parts)
    if what == "remove newest commit":
        commits[-1].unlink()
    elif what == "truncate newest commit":
        data = commits[-1].read_bytes()
        commits[-1].write_bytes(data[: len(data) // 2])
    elif what == "garble newest commit":
        data = bytearray(commits[-1].read_bytes())
        for _ in range(8):
            data[rng.randrange(len(data))] = rng.randrange(256)
        commits[-1].write_bytes(bytes(data))
    elif what == "remove a middle commit":
        commits[len(commits) // 2].unlink()
    elif what == "truncate a data file":
        target = rng.choice(files)
        data = target.read_bytes()
        target.write_bytes(data[: rng.randrange(1, len(data))])
    elif what == "delete a data file":
        rng.choice(files).unlink()
    elif what == "flip a byte in a data file":
        target = rng.choice(files)
        data = bytearray(target.read_bytes())
        at = rng.randrange(4, len(data) - 8)  # not the magic bytes or the footer length
        data[at] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(data))
    else:
        raise ValueError(what)


def classify(case: Case, seed_home: Path, work: Path, reference: dict) -> tuple[str, str]:
    home = work / f"{case.table}-{case.damage.replace(' ', '_')}-{case.seed}"
    shutil.copytree(seed_home, home)
    ctx = JobContext.load(DEV_ENV, home=home)
    name = getattr(ctx.tables, case.table)
    damage(ctx.runtime.table_path(name), case.damage, random.Random(case.seed))
    code, out = _run(case.job, home)
    try:
        if code is None:
            return "traceback", out
        if "Traceback" in out:
            return "traceback", out
        if code in (0, 3):
            try:
                same = all(_snapshot(case.job, home)[n].equals(f) for n, f in reference[case.job].items())
            except TableDamaged as exc:
                return ("latent", str(exc)) if name in str(exc) else ("wrong", str(exc))
            if same:
                return "held", out
            unseen_commit = case.table == "payload" and case.damage == "remove newest commit"
            return ("undetectable", out) if unseen_commit or case.damage.startswith("flip") else ("wrong", out)
        last = [line for line in out.splitlines() if line.strip()][-1:]
        return ("clean", last[0]) if last and name in last[0] else ("wrong", out)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def cases(seed: int, flips: int = 3) -> list[Case]:
    rng = random.Random(seed)
    out = []
    for table, job in READERS.items():
        for what in LOG_DAMAGES + FILE_DAMAGES:
            repeats = flips if what == "flip a byte in a data file" else 1
            out += [Case(table, job, what, rng.randrange(1 << 30)) for _ in range(repeats)]
    return out


def run(seed: int, work: Path, flips: int = 3) -> tuple[Counter, list[tuple[Case, str, str]]]:
    seed_home = make_seed(work)
    reference = {}
    for job in JOB_ARGS:
        ref = work / f"ref-{job}"
        shutil.copytree(seed_home, ref)
        code, out = _run(job, ref)
        assert code in (0, 3), out
        reference[job] = _snapshot(job, ref)
    counts: Counter = Counter()
    results = []
    for case in cases(seed, flips):
        outcome, detail = classify(case, seed_home, work, reference)
        counts[outcome] += 1
        results.append((case, outcome, detail))
    return counts, results


if __name__ == "__main__":
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--flips", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts, results = run(args.seed, Path(tmp), args.flips)
    for case, outcome, detail in results:
        print(f"{outcome:9} {case.table:16} {case.damage:28} {detail.strip().splitlines()[-1][:160] if detail.strip() else ''}")
    print(f"seed {args.seed}: {sum(counts.values())} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
