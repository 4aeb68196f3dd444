"""The ``jointeffects`` command: a click group whose subcommands are imported on first use.

The subcommands need pandas, scikit-learn, matplotlib or Dask; importing them only when one
is run keeps ``jointeffects --help`` fast. A new command is one line of :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib

import click

from jointeffects.cli.errors import JointEffectsGroup

#: Subcommand name → (``module:attribute`` of the click command, its one-line help). The
#: one-line help is listed by ``jointeffects --help`` without importing the module; it is the
#: first sentence of the command's own help (tests/cli/test_main.py checks they agree).
COMMANDS = {
    "curves": (
        "jointeffects.cli.predict:curves",
        "Per-action response curves: effect of each action, others at their medians.",
    ),
    "example": (
        "jointeffects.cli.simulate:example",
        "Write a documented example dataset: its SCM, regime files, queries and a README.",
    ),
    "fit": (
        "jointeffects.cli.fit:fit",
        "Fit a joint-effect model on observational data plus single-action experiments.",
    ),
    "optimize": (
        "jointeffects.cli.optimize:optimize",
        "Recommend levels of the actions that maximise the outcome for a budget (or a value).",
    ),
    "predict": (
        "jointeffects.cli.predict:predict",
        "Predict interventional means at query points, flagging extrapolation.",
    ),
    "report": (
        "jointeffects.cli.report:report",
        "Write a self-contained HTML report: data, support, curves, heat map, assumptions.",
    ),
    "reproduce": (
        "jointeffects.cli.reproduce:reproduce",
        "Reproduce a figure of the paper (Section 7, Appendix E) on Dask.",
    ),
    "results": (
        "jointeffects.cli.reproduce:results",
        "Print the summary tables of the runs stored in FOLDER and redraw their figures.",
    ),
    "simulate": (
        "jointeffects.cli.simulate:simulate",
        "Draw rows of one regime of a simulated SCM.",
    ),
}


class LazyGroup(JointEffectsGroup):
    """A group that imports the subcommands of :data:`COMMANDS` when one is run or its help
    is asked for; commands added with ``add_command`` work as in any click group."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # A stand-in per unloaded command, so click shortens its line as it does a loaded one's.
        commands = {name: click.Command(name, help=line) for name, (_, line) in COMMANDS.items()}
        commands.update(self.commands)
        rows = [(name, cmd) for name, cmd in sorted(commands.items()) if not cmd.hidden]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


@click.group(cls=LazyGroup)
@click.version_option(package_name="jointeffects")
def main() -> None:
    """Joint interventional effects from observational data plus single experiments.

    Every command checks its request before it writes: outputs never overwrite an input,
    files are written atomically, and errors are one line with exit status 2 (see
    docs/cli-safety.md).
    """
