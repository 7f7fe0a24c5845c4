"""What a caller calls the parameters that messages name.

The library names a parameter as a Python caller passed it (``fps``); the CLI
passes its flags (``{"fps": "--fps"}``) so that its user reads ``--fps`` in
the same message. One mapping, read the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from retail_intel.errors import Step


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


# What a message's next step (RetailIntelError.next_step) says to the same operator: a command line.
# The library words each step by its functions; only these two edges name commands.
COMMAND_STEPS = {
    Step.LIST_CONFIG_PROBLEMS: " (run retail-intel validate to list them)",
    Step.WRITE_MOVEMENTS: "; run retail-intel process or ingest first",
    Step.PROCESS_FIRST: "run `retail-intel process` on it first",
    Step.TRACKS_OF_PREVIEW: " `retail-intel tracks {summary}`, or run `retail-intel process` on it without --max-frames",
    Step.RECOMPUTE_KPIS: "run `retail-intel kpis` over the days the last batch changed",
    Step.SHORTER_RANGE: "; use a shorter --from/--to range",
    Step.SETUP_FROM_VIDEO: "give a VIDEO of the camera (retail-intel setup --branch {branch} --camera {camera} VIDEO), "
    "or process one first",
    Step.PREVIEW_A_STREAM: " For setup, `retail-intel process URL --branch ID --max-frames 25` keeps the camera's "
    "picture, which `retail-intel setup --branch ID` without VIDEO draws on",
    Step.PROCESS_WITHOUT_PREVIEW: " (process --max-frames writes them under previews/), which sql, kpis, report and "
    "serve do not read; process the video without --max-frames",
}
