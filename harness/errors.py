"""Errors a user can fix. Each carries one self-contained message and is reported without a traceback."""


class HarnessError(Exception):
    """Base class: the message names the file, field or value at fault."""


class SpecError(HarnessError):
    """A task, approach or profile YAML is malformed or invalid."""


class DataError(HarnessError):
    """A data source lacks a split, a file or a field, or holds a label outside the declared names."""


class ModelError(HarnessError):
    """A model name that is neither built in, a local directory, nor reachable on the hub."""


class TrainingDiverged(HarnessError):
    """The loss became NaN or infinite; the run is recorded as failed with this reason."""
