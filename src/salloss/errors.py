"""Exception types with messages meant for the user (the CLI prints them without a traceback)."""


class SallossError(Exception):
    """Base class: an error whose message says what is wrong and what to do."""


class ConfigError(SallossError, ValueError):
    """Invalid parameters (unknown key, loss, dataset, bad value)."""


class DataError(SallossError, ValueError):
    """Missing, corrupt or unexpected data files; the message names the file."""


class WeightsError(SallossError, RuntimeError):
    """Pretrained weights unavailable; the message says where to put the file."""
