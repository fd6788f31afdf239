"""What every job script needs: the environment config, the model, its table names, the runtime.

Scripts call `add_context_arguments(parser)` and `JobContext.from_args(args)`; bad config ends
the job with the config error's message (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from lakemon.config import ConfigError, Environment, Model, load_environment
from lakemon.tables import ModelTables

from .runtime import LocalRuntime, on_databricks


def add_context_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", default="dev", help="environment name: reads envs/<env>.yml (default: dev)")
    where.add_argument("--env-file", type=Path, help="path of the environment file (overrides --env)")
    parser.add_argument("--model", help="model name from the env file (default: the first model)")
    parser.add_argument(
        "--home", type=Path, help="embedded default's root folder (default: $LAKEMON_HOME or ./.lakemon)"
    )


@dataclass(frozen=True)
class JobContext:
    env: Environment
    model: Model
    tables: ModelTables
    runtime: LocalRuntime | None
    """None on Databricks; the embedded default's folders otherwise."""

    @classmethod
    def load(cls, env_file: str | Path, model: str | None = None, home: str | Path | None = None) -> JobContext:
        """The context for Python callers (the end-to-end loop, tests). Raises ConfigError or
        KeyError (unknown model); `from_args` turns those into a clean exit for the CLI."""
        env = load_environment(Path(env_file))
        chosen = env.model(model)
        runtime = None if on_databricks() else LocalRuntime.from_env(home)
        return cls(env=env, model=chosen, tables=ModelTables(env, chosen), runtime=runtime)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> JobContext:
        path = args.env_file or Path("envs") / f"{args.env}.yml"
        try:
            return cls.load(path, args.model, getattr(args, "home", None))
        except ConfigError as exc:
            sys.exit(f"lakemon: configuration error:\n{exc}")
        except KeyError as exc:
            sys.exit(f"lakemon: {exc.args[0]}")
