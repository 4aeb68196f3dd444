"""``jointeffects simulate`` and ``jointeffects example``: data from an SCM spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jointeffects.cli.io import file_option, out_option, read_scm, write_table, write_text
from jointeffects.cli.paths import check_outputs
from jointeffects.cli.sizes import check_memory, table_bytes
from jointeffects.errors import DataError
from jointeffects.fileio import atomic_folder

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES = ("marketing",)


def _intervened(regime: str, actions: tuple[str, ...]) -> tuple[str, ...]:
    import difflib

    from jointeffects.estimate.regimes import parse_regime_key

    if regime.strip().lower() == "all":
        return actions
    names = parse_regime_key(regime)
    if len(set(names)) != len(names):
        raise DataError(f"--regime '{regime}' names an action twice; name each action once")
    for name in names:
        if name not in actions:
            close = difflib.get_close_matches(name, actions, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise DataError(
                f"--regime '{regime}' names no action '{name}'{hint}; "
                f"actions are {list(actions)} (or use obs, all)"
            )
    return names


def _check_finite(frame: pd.DataFrame, scm_path: Path) -> None:
    """Refuse samples that overflowed (huge coefficients or powers in the spec)."""
    import numpy as np

    for column in frame.columns:
        values = frame[column].to_numpy()
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(
                f"the SCM spec '{scm_path}' makes variable '{column}' overflow to "
                f"{values[row]} (row {row + 1}): its coefficients or powers are too large for "
                "floating point; scale the spec down"
            )


@click.command()
@file_option(
    "--scm", "scm_path", help_text="SCM spec (JSON, format jointeffects.scm/1).", required=True
)
@click.option(
    "--regime",
    default="obs",
    show_default=True,
    help="obs, an action (tv), a block (tv+email) or all (the joint intervention).",
)
@click.option("-n", "rows", type=click.IntRange(1), default=10_000, show_default=True,
              help="Rows to draw.")  # fmt: skip
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed."
)
@out_option("Output table (CSV or Parquet).")
def simulate(scm_path: Path, regime: str, rows: int, seed: int, out: Path) -> None:
    """Draw rows of one regime of a simulated SCM."""
    import numpy as np

    from jointeffects.estimate.regimes import regime_label

    check_outputs([("--out", out, "table")], [("--scm", scm_path)])
    scm = read_scm(scm_path)
    intervened = _intervened(regime, tuple(scm.actions))
    check_memory(
        table_bytes(rows, 2 * len(scm.actions) + 2),  # actions, outcome and latent draws
        f"simulate -n {rows}",
        "draw fewer rows (-n), e.g. in several runs with different --seed",
    )
    with np.errstate(all="ignore"):
        frame = scm.sample(rows, intervened, rng=seed)
    _check_finite(frame, scm_path)
    write_table(frame, out)
    click.echo(f"wrote {rows} rows of the {regime_label(intervened)} regime to {out}")


def _check_not_users(out: Path, names: list[str], readme: str) -> None:
    """Refuse to replace files in ``out`` unless an earlier ``example`` wrote them."""
    if not out.is_dir():
        return
    taken = [name for name in names if (out / name).exists()]
    if not taken:
        return
    try:
        ours = (out / "README.md").read_text(encoding="utf-8").startswith(readme.split("\n")[0])
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise DataError(
            f"--out '{out}' already holds {', '.join(taken)}, not written by 'jointeffects "
            "example'; give a new or empty folder"
        )


@click.command()
@click.argument("name", type=click.Choice(EXAMPLES))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the example into (created if missing; an earlier example's files "
    "are replaced, other files never).",
)
@click.option("--rows", type=click.IntRange(100), default=2000, show_default=True,
              help="Rows per experiment (the observational file: 2.5 times as many).")  # fmt: skip
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed."
)
def example(name: str, out: Path, rows: int, seed: int) -> None:
    """Write a documented example dataset: its SCM, regime files, queries and a README."""
    import numpy as np

    from jointeffects.simulate.examples import (
        MARKETING_README,
        marketing_example,
        marketing_queries,
    )

    if out.exists() and not out.is_dir():
        raise DataError(f"--out '{out}' is a file; give a folder")
    scm = marketing_example()
    n_obs = int(2.5 * rows)
    total = n_obs + (2 * len(scm.actions) + 1) * rows
    check_memory(
        table_bytes(total, 2 * len(scm.actions) + 2),
        f"example --rows {rows} ({total} rows in all)",
        "use fewer --rows",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    seeds = np.random.SeedSequence(seed).spawn(len(scm.actions) + 2)
    files = {"obs.csv": scm.sample(n_obs, (), rng=np.random.default_rng(seeds[0]))}
    for j, action in enumerate(scm.actions):
        files[f"{action}.csv"] = scm.sample(
            rows, (action,), rng=np.random.default_rng(seeds[j + 1])
        )
    files["joint.csv"] = scm.sample(rows, scm.actions, rng=np.random.default_rng(seeds[-1]))
    queries = marketing_queries()
    files["queries.csv"] = queries
    _check_not_users(out, ["spec.json", "README.md", *files], MARKETING_README)
    # built in a temporary folder and moved into place at the end: never half-written
    with atomic_folder(out) as folder:
        write_text(json.dumps(scm.to_dict(), indent=2) + "\n", folder / "spec.json")
        for file, frame in files.items():
            write_table(frame.round(4), folder / file)
        readme = MARKETING_README.format(n_obs=n_obs, n_exp=rows, n_q=len(queries))
        write_text(readme, folder / "README.md")
    click.echo(f"wrote the {name} example to {out}/: spec.json, README.md, " + ", ".join(files))
    click.echo(f"next: cd {out} && jointeffects fit --outcome sales --data obs.csv "
               + " ".join(f"--data {a}={a}.csv" for a in scm.actions)
               + " --validate-with joint.csv --out model.json")  # fmt: skip
