"""Every user-facing failure is a ModelportError: the CLI prints its message, no traceback."""
from __future__ import annotations


class ModelportError(Exception):
    """A problem with the user's input (file, model, option), reported as one clear message."""

    exit_code = 2


class ModelFileError(ModelportError):
    """A model file is missing, truncated or malformed."""


class UnsupportedOpsError(ModelportError):
    """The model uses operators modelport cannot convert (all of them are listed)."""


class ConversionError(ModelportError):
    """The graph and its weights disagree, or an attribute is invalid (all problems listed)."""

    def __init__(self, problems: list[str], header: str = "conversion failed"):
        self.problems = list(problems)
        if len(self.problems) == 1:
            super().__init__(f"{header}: {self.problems[0]}")
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            super().__init__(f"{header} ({len(self.problems)} problems):\n{lines}")


class VerificationError(ModelportError):
    """Verification could not be run (not: the models diverged, which is a result)."""


class ConversionWarning(UserWarning):
    """The converted model computes something other than the source in a case the target cannot
    express exactly (the message names the node, the attribute and what differs). Raised with
    ``warnings.warn``; ``convert`` collects them in ``ConvertResult.warnings`` and the CLI prints
    them. With the ``exact`` option the target refuses such nodes instead."""
