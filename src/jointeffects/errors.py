"""The package's exception tree.

Every error raised on bad user input derives from :class:`JointEffectsError`; the
command-line interface turns these into one line on stderr and exit status 2.
"""

from __future__ import annotations


class JointEffectsError(Exception):
    """Base class of all errors the package raises on purpose."""


class SpecError(JointEffectsError, ValueError):
    """An SCM specification (JSON or dict) is malformed; the message names the field."""


class DataError(JointEffectsError, ValueError):
    """Regime data or query data cannot be used as given; the message says what to fix."""


class IdentificationError(JointEffectsError, ValueError):
    """The requested effect is not identified by the regimes the estimator was fitted on."""


class StoreError(JointEffectsError, RuntimeError):
    """The experiment results store cannot be used (wrong folder, other run's config)."""


class TaskError(JointEffectsError, RuntimeError):
    """Experiment tasks failed; the finished ones are stored and a rerun resumes."""


class OutputError(JointEffectsError, ValueError):
    """An output cannot be written (full disk, no permission, it would overwrite an input)."""


class SizeError(JointEffectsError, ValueError):
    """A request would need more memory than the machine has; the message gives the estimate."""


# -- warnings ---------------------------------------------------------------------------------


class JointEffectsWarning(UserWarning):
    """Base class of all warnings the package issues."""


class IntervalWarning(JointEffectsWarning):
    """Some intervals are not trustworthy (tiny regime, extrapolation, a rejected model)."""


class SupportWarning(JointEffectsWarning):
    """The actions of some regime reach outside the observational support (Assumption 1)."""


class IdentificationWarning(JointEffectsWarning):
    """Part of what was asked is not identified by the data; the rest is given."""
