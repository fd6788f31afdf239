"""Every job subcommand of `lakemon` loads and explains itself."""

from __future__ import annotations

import pytest

from lakemon_jobs.cli import main

JOBS = ["train", "register", "deploy", "unpack", "refresh"]


@pytest.mark.parametrize("name", JOBS)
def test_subcommand_help_names_the_context_options(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"lakemon {name}" in out and "--env-file" in out and "--home" in out


def test_register_without_a_training_run_says_what_to_do(tmp_path, capsys):
    from conftest import DEV_ENV

    assert main(["register", "--env-file", str(DEV_ENV), "--home", str(tmp_path)]) == 1
    assert "run `lakemon train` first" in capsys.readouterr().out
