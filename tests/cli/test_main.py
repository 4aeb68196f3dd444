"""The command group: subcommands load on first use, and every one's help still works."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from jointeffects.cli.main import COMMANDS, main


def _command(name: str) -> click.Command:
    module, _, attribute = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_line_is_the_commands_own_first_sentence(name):
    assert _command(name).get_short_help_str(limit=1000) == COMMANDS[name][1]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_help_lists_its_options(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: main {name} ")
    for param in _command(name).params:
        if isinstance(param, click.Option):
            assert param.opts[0] in result.output, (name, param.opts)


def test_group_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed


def test_group_help_imports_no_subcommand():
    """``jointeffects --help`` must not import the subcommands (nor through them pandas,
    matplotlib, Dask or the experiments)."""
    code = (
        "import sys\n"
        "from jointeffects.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    cli = {m for m in loaded if m.startswith("jointeffects.cli.")}
    assert cli == {"jointeffects.cli.main", "jointeffects.cli.errors"}
    heavy = ("jointeffects.experiments", "matplotlib", "dask", "distributed")
    assert not [m for m in loaded if m.startswith(heavy)]


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(main, ["fitt"])
    assert result.exit_code == 2
    assert "No such command 'fitt'" in result.output


def test_root_names_load_on_first_use_and_match_their_modules():
    import subprocess
    import sys

    code = (
        "import sys, jointeffects as j; "
        "assert 'sklearn' not in sys.modules and 'pandas' not in sys.modules; "
        "from jointeffects.estimate import JointEffectEstimator; "
        "from jointeffects.simulate import load_scm; "
        "assert j.JointEffectEstimator is JointEffectEstimator and j.load_scm is load_scm; "
        "assert set(j.__all__) <= set(dir(j)); "
        "missing = [n for n in j.__all__ if getattr(j, n, None) is None]; "
        "assert not missing, missing"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
