"""Shared CLI error handling: the package's errors become one line on stderr and exit 2."""

from __future__ import annotations

from typing import Any

import click

from jointeffects.errors import JointEffectsError

#: Exit status for errors in the user's input (click uses 2 for usage errors too).
USER_ERROR = 2


class JointEffectsGroup(click.Group):
    """A click group whose commands report :class:`JointEffectsError` without a traceback.

    Every command added to the group (now or later, by any module) gets this handling;
    anything else is a bug and keeps its traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JointEffectsError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(USER_ERROR)
        except MemoryError:  # the size checks missed a case: still one line, not a traceback
            click.echo(
                "error: out of memory; use smaller inputs (fewer rows or actions, a lower "
                "--degree)",
                err=True,
            )
            ctx.exit(USER_ERROR)
