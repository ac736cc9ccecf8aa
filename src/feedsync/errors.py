"""The one exception type for faults the user must fix (bad usage, configuration, disk)."""


class FeedsyncError(Exception):
    """A fault the user can fix; cli shows it as one line, without a traceback."""

    exit_code = 2


class OutputError(FeedsyncError):
    """The output folder could not be written; previously written feeds are left intact."""

    exit_code = 3
