"""What a caller calls the parameters that messages name.

The library names a parameter as a Python caller passed it (``fps``); the CLI
passes its flags (``{"fps": "--fps"}``) so that its user reads ``--fps`` in
the same message. One mapping, read the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping


class CallerNames:
    """``names("fps")``: the caller's name for ``fps`` where ``given`` has one, else ``prefix`` + ``fps``.

    ``prefix`` names a parameter left out as a field of the object it was passed in
    (``"request."`` for :class:`~retail_intel.batch.request.BatchRequest`'s fields).
    """

    __slots__ = ("_given", "_prefix")

    def __init__(self, given: Mapping[str, str] | None = None, prefix: str = "") -> None:
        self._given: Mapping[str, str] = given or {}
        self._prefix = prefix

    def __call__(self, parameter: str) -> str:
        return self._given.get(parameter, self._prefix + parameter)


# What a message naming the library's config_dir or data_dir says to an operator of the CLI and of
# serve (which the CLI starts, or its workers from the same variables): the flag, or the variable
# that gave the directory. A message raised deep in the library is worded so at their edge
# (RetailIntelError.worded_for).
DIRECTORY_NAMES = {
    "config_dir": "--config DIR (or the RETAIL_INTEL_CONFIG environment variable)",
    "data_dir": "--data-dir (or RETAIL_INTEL_DATA_DIR)",
}
