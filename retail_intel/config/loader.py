"""Loading and validating a config directory.

A config directory holds one YAML file per kind of record, each with a single
top-level key holding a list::

    branches.yaml    branches:   (required)
    employees.yaml   employees:  (optional: missing file = no employees)
    tasks.yaml       tasks:
    events.yaml      events:
    promotions.yaml  promotions:
    holidays.yaml    holidays:

:func:`validate_config` collects every problem in every file (field errors and
cross-file checks) instead of stopping at the first, so one run of
``retail-intel validate`` lists everything a store manager has to fix.
:func:`load_config` raises :class:`ConfigError` carrying that same list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from retail_intel.config.models import (
    Branch,
    Camera,
    Employee,
    Event,
    Holiday,
    Promotion,
    ShiftException,
    Shifts,
    Task,
    WeeklyShift,
    unknown_staff_cameras,
)
from retail_intel.config.problems import entry_label, validation_problems
from retail_intel.config.shift_checks import shift_problems
from retail_intel.config.yamlio import YamlReadError, dump_entries, read_yaml
from retail_intel.config.zone_checks import branch_cameras, camera_problems, raw_cameras
from retail_intel.errors import ConfigError, NextStep, Step
from retail_intel.naming import CallerNames
from retail_intel.storage import atomic_write_bytes

__all__ = [
    "CONFIG_FILES",
    "Config",
    "ConfigFile",
    "config_to_yaml",
    "load_config",
    "validate_config",
    "validation_report",
    "write_config",
]

M = TypeVar("M", bound=BaseModel)
_MAX_LISTED = 12


@dataclass(frozen=True)
class ConfigFile(Generic[M]):
    """How one YAML file of the config directory is named, keyed and validated."""

    filename: str
    key: str
    kind: str
    model: type[M]
    required: bool = False


BRANCHES = ConfigFile("branches.yaml", "branches", "branch", Branch, required=True)
EMPLOYEES = ConfigFile("employees.yaml", "employees", "employee", Employee)
TASKS = ConfigFile("tasks.yaml", "tasks", "task", Task)
EVENTS = ConfigFile("events.yaml", "events", "event", Event)
PROMOTIONS = ConfigFile("promotions.yaml", "promotions", "promotion", Promotion)
HOLIDAYS = ConfigFile("holidays.yaml", "holidays", "holiday", Holiday)
CONFIG_FILES: tuple[ConfigFile[Any], ...] = (BRANCHES, EMPLOYEES, TASKS, EVENTS, PROMOTIONS, HOLIDAYS)


def _listing(ids: Iterable[str]) -> str:
    names = sorted(set(ids))
    if not names:
        return "none defined"
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")


@dataclass(frozen=True)
class Config:
    """Every record of a config directory, validated and cross-checked."""

    branches: tuple[Branch, ...]
    employees: tuple[Employee, ...] = ()
    tasks: tuple[Task, ...] = ()
    events: tuple[Event, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    source_dir: Path = field(default=Path("config"))

    def branch(self, branch_id: str) -> Branch:
        """The branch with ``branch_id``; ConfigError naming the known ids otherwise."""
        for branch in self.branches:
            if branch.id == branch_id:
                return branch
        raise ConfigError(
            f'unknown branch "{branch_id}": {self.source_dir / BRANCHES.filename} defines '
            f"{_listing(b.id for b in self.branches)}"
        )

    def camera(self, branch_id: str, camera_id: str | None = None) -> Camera:
        """A camera of a branch; ``None`` picks the branch's first (usually only) camera."""
        branch = self.branch(branch_id)
        if not branch.cameras:
            raise ConfigError(
                f'branch "{branch_id}" has no cameras; add one under cameras: in {self.source_dir / BRANCHES.filename}'
            )
        if camera_id is None:
            return branch.cameras[0]
        camera = branch.camera(camera_id)
        if camera is None:
            raise ConfigError(
                f'branch "{branch_id}" has no camera "{camera_id}"; its cameras are '
                f"{_listing(c.id for c in branch.cameras)}"
            )
        return camera

    # The lookups below raise ConfigError for an unknown id, as branch() does: a
    # mistyped id would otherwise read as a branch without staff, tasks or events.

    def employees_of(self, branch_id: str) -> tuple[Employee, ...]:
        """The branch's employees; ConfigError naming the known ids for an unknown branch."""
        self.branch(branch_id)
        return tuple(e for e in self.employees if e.branch == branch_id)

    def tasks_of(self, branch_id: str) -> tuple[Task, ...]:
        """The branch's tasks; ConfigError naming the known ids for an unknown branch."""
        self.branch(branch_id)
        return tuple(t for t in self.tasks if t.branch == branch_id)

    def promotions_for(self, branch_id: str) -> tuple[Promotion, ...]:
        """Promotions that apply to the branch (its own and ``branches: all``), at any time."""
        self.branch(branch_id)
        return tuple(p for p in self.promotions if p.applies_to(branch_id))

    def holidays_for(self, branch_id: str) -> tuple[Holiday, ...]:
        """Holidays that apply to the branch (its own and ``branches: all``)."""
        self.branch(branch_id)
        return tuple(h for h in self.holidays if h.applies_to(branch_id))

    def events_for(self, branch_id: str) -> tuple[Event, ...]:
        """Events held at the branch (events with only a ``location`` are not included)."""
        self.branch(branch_id)
        return tuple(e for e in self.events if e.branch == branch_id)

    def employee(self, employee_id: str) -> Employee | None:
        return next((e for e in self.employees if e.id == employee_id), None)

    @property
    def timezones(self) -> dict[str, ZoneInfo]:
        """Branch id -> its zone, for :func:`retail_intel.config.calendar.expand_events`."""
        return {b.id: b.tzinfo for b in self.branches}


@dataclass
class _Parsed(Generic[M]):
    spec: ConfigFile[M]
    models: list[M] = field(default_factory=list)
    raw_ids: list[str] = field(default_factory=list)  # ids of every entry, valid or not
    # (label, raw mapping) of every entry, valid or not: references are checked
    # on these so an entry with a bad field still has its branch checked.
    raw_entries: list[tuple[str, Mapping[Any, Any]]] = field(default_factory=list)
    # (label, raw mapping) of the entries with a field error: the checks across
    # fields still run on what can be read of them, so one typo hides nothing else.
    invalid_entries: list[tuple[str, Mapping[Any, Any]]] = field(default_factory=list)
    # False when the file's list of entries could not be read at all (a YAML error, a misspelt
    # top-level key): which ids it holds is unknown, so no reference to them is called unknown.
    readable: bool = True


def _type_name(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"[:60]
    return type(value).__name__


def _parse_file(directory: Path, spec: ConfigFile[M], problems: list[str]) -> _Parsed[M]:
    parsed = _Parsed(spec)
    path = directory / spec.filename
    name = spec.filename
    if not path.is_file():
        if spec.required:
            problems.append(f"{name}: missing; {directory} must contain {name} with a top-level '{spec.key}:' list")
            parsed.readable = False
        return parsed
    try:
        document = read_yaml(path)
    except YamlReadError as exc:
        problems.append(f"{name}: {exc}")
        parsed.readable = False
        return parsed
    expected = f"a top-level '{spec.key}:' key holding a list of {spec.kind} entries"
    if document is None:
        if spec.required:
            problems.append(f"{name}: is empty; expected {expected}")
            parsed.readable = False
        return parsed
    if not isinstance(document, Mapping):
        problems.append(f"{name}: expected {expected}, got {_type_name(document)}")
        parsed.readable = False
        return parsed
    if spec.key not in document:
        found = ", ".join(repr(str(k)) for k in document) or "none"
        problems.append(f"{name}: expected {expected}, found top-level keys {found}")
        parsed.readable = False
        return parsed
    for key in document:
        if key != spec.key:
            problems.append(f"{name}: unknown top-level key {str(key)!r}; only '{spec.key}:' is allowed")
    entries = document[spec.key]
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        problems.append(
            f"{name}: '{spec.key}:' must hold a list (each entry starting with '- id: ...'), got {_type_name(entries)}"
        )
        parsed.readable = False
        return parsed
    if not entries and spec.required:
        problems.append(f"{name}: '{spec.key}:' is empty; define at least one {spec.kind}")
    for position, raw in enumerate(entries, start=1):
        label = entry_label(spec.kind, raw, position)
        if not isinstance(raw, Mapping):
            problems.append(f"{name}: {label}: expected a mapping of fields (id: ..., ...), got {_type_name(raw)}")
            continue
        raw_id = raw.get("id")
        if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
            parsed.raw_ids.append(str(raw_id))
        parsed.raw_entries.append((label, raw))
        try:
            model = spec.model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(validation_problems(f"{name}: {label}", exc, raw, [spec.model]))
            parsed.invalid_entries.append((label, raw))
            continue
        parsed.models.append(model)
    return parsed


def _check_duplicate_ids(parsed: _Parsed[Any], problems: list[str]) -> None:
    counts = Counter(parsed.raw_ids)
    for ident, count in counts.items():
        if count > 1:
            problems.append(
                f'{parsed.spec.filename}: duplicate {parsed.spec.kind} id "{ident}" ({count} entries use it)'
            )


def _ref_values(value: object) -> list[str]:
    """The ids a raw reference field names: one id, or a list of them."""
    items = value if isinstance(value, list) else [value]
    # a number with a decimal point is named as read (2.0 -> "2.0"): it then matches no id and is reported
    return [str(v) for v in items if isinstance(v, str | int | float) and not isinstance(v, bool) and v != ""]


def _check_references(
    parsed: _Parsed[Any], field_name: str, known: _Parsed[Any], target: str, problems: list[str]
) -> None:
    """Every id ``field_name`` names must be one of ``known``'s (unless ``known``'s file could not be read)."""
    if not known.readable:
        return  # that file's one problem line says why; its ids are not known to be missing
    ids = set(known.raw_ids)
    for label, raw in parsed.raw_entries:
        value = raw.get(field_name)
        if parsed.spec in (PROMOTIONS, HOLIDAYS) and isinstance(value, str):
            continue  # "all", or a typo the model already reports
        for ref in _ref_values(value):
            if ref not in ids:
                problems.append(
                    f'{parsed.spec.filename}: {label}: {field_name}: unknown {target} "{ref}" (known: {_listing(ids)})'
                )


def _check_branches(branches: _Parsed[Branch], problems: list[str]) -> None:
    for label, raw in branches.raw_entries:
        if str(raw.get("id")) in _ref_values(raw.get("neighbors")):
            problems.append(f"{BRANCHES.filename}: {label}: neighbors: a branch cannot be its own neighbor")
    for branch in branches.models:
        problems.extend(camera_problems(f'{BRANCHES.filename}: branch "{branch.id}"', branch_cameras(branch)))
    for label, raw in branches.invalid_entries:
        problems.extend(camera_problems(f"{BRANCHES.filename}: {label}", raw_cameras(raw)))
        staff = _raw_staff_cameras_problem(raw)
        line = f"{BRANCHES.filename}: {label}: {staff}"
        if staff is not None and line not in problems:  # the model reports it when nothing else is wrong
            problems.append(line)


def _raw_staff_cameras_problem(raw: Mapping[Any, Any]) -> str | None:
    """Staff zones on cameras a branch entry that did not validate lacks, as far as it can be read."""
    staff = raw.get("staff")
    zones = staff.get("zones") if isinstance(staff, Mapping) else None
    cameras = raw.get("cameras") or []
    if not isinstance(zones, Mapping) or not isinstance(cameras, list):
        return None
    readable = raw_cameras(raw)
    if len(readable) != len(cameras):
        return None  # a camera without a readable id may be the one named
    return unknown_staff_cameras([str(name) for name in zones], [c.id for c in readable])


def _valid_items(raw: object, model: type[M]) -> list[M]:
    """The items of a raw list that validate on their own (the others are reported as field errors)."""
    items: list[M] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            items.append(model.model_validate(item))
        except ValidationError:
            continue
    return items


def _raw_shifts(raw: Mapping[Any, Any]) -> Shifts:
    """What can be read of the shifts of an employee entry that did not validate."""
    shifts = raw.get("shifts")
    if not isinstance(shifts, Mapping):
        return Shifts()
    weekly = _valid_items(shifts.get("weekly"), WeeklyShift)
    return Shifts(weekly=weekly, exceptions=_valid_items(shifts.get("exceptions"), ShiftException))


def _check_shifts(employees: _Parsed[Employee], problems: list[str]) -> None:
    labelled = [(f'employee "{e.id}"', e.shifts) for e in employees.models]
    labelled += [(label, _raw_shifts(raw)) for label, raw in employees.invalid_entries]
    for label, shifts in labelled:
        problems.extend(f"{EMPLOYEES.filename}: {label}: {problem}" for problem in shift_problems(shifts))


def _check_events(events: _Parsed[Event], problems: list[str]) -> None:
    for event in events.models:
        if event.until is not None and event.until < event.start.date():
            problems.append(
                f'{EVENTS.filename}: event "{event.id}": until {event.until.isoformat()} is before '
                f"the first occurrence on {event.start.date().isoformat()}"
            )


def _missing(directory: Path, names: Mapping[str, str] | None = None) -> str:
    """``directory`` is not there; ``names`` say what the caller calls ``config_dir`` (the CLI: its --config)."""
    config_dir = CallerNames(names)("config_dir")
    return f"config directory {directory} does not exist; point {config_dir} at a directory holding {BRANCHES.filename}"


class MissingConfigError(ConfigError):
    """No config directory where one was given; :meth:`named_for` names it as a caller calls it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(_missing(directory))

    def named_for(self, names: Mapping[str, str]) -> str:
        return _missing(self.directory, names)


def _read(directory: Path, names: Mapping[str, str] | None = None) -> tuple[Config | None, list[str]]:
    if not directory.exists():
        return None, [_missing(directory, names)]
    if not directory.is_dir():
        return None, [f"config path {directory} is a file, expected a directory holding {BRANCHES.filename}"]
    problems: list[str] = []
    branches = _parse_file(directory, BRANCHES, problems)
    employees = _parse_file(directory, EMPLOYEES, problems)
    tasks = _parse_file(directory, TASKS, problems)
    events = _parse_file(directory, EVENTS, problems)
    promotions = _parse_file(directory, PROMOTIONS, problems)
    holidays = _parse_file(directory, HOLIDAYS, problems)
    for parsed in (branches, employees, tasks, events, promotions):
        _check_duplicate_ids(parsed, problems)

    # References are checked against every id written in the file, valid
    # entries or not, so one broken branch does not also fail its employees.
    _check_branches(branches, problems)
    _check_references(branches, "neighbors", branches, "branch", problems)
    _check_references(employees, "branch", branches, "branch", problems)
    _check_shifts(employees, problems)
    _check_references(tasks, "branch", branches, "branch", problems)
    _check_references(tasks, "assignee", employees, "employee", problems)
    _check_references(events, "branch", branches, "branch", problems)
    _check_events(events, problems)
    _check_references(promotions, "branches", branches, "branch", problems)
    _check_references(holidays, "branches", branches, "branch", problems)
    # List the problems file by file, in the order the files are described.
    order = {spec.filename: index for index, spec in enumerate(CONFIG_FILES)}
    problems.sort(key=lambda line: order.get(line.partition(":")[0], len(order)))
    if problems:
        return None, problems
    config = Config(
        branches=tuple(branches.models),
        employees=tuple(employees.models),
        tasks=tuple(tasks.models),
        events=tuple(events.models),
        promotions=tuple(promotions.models),
        holidays=tuple(holidays.models),
        source_dir=directory,
    )
    return config, []


def validate_config(path: Path, names: Mapping[str, str] | None = None) -> list[str]:
    """Every problem in the config directory at ``path``; an empty list means it is valid.

    ``names`` say what the caller calls the directory (``{"config_dir": "--config"}``), else ``config_dir``."""
    return _read(Path(path), names)[1]


def validation_report(path: Path, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What ``retail-intel validate`` prints: ok, every problem, and record counts when valid (``names``: as
    :func:`validate_config`'s)."""
    directory = Path(path)
    config, problems = _read(directory, names)
    counts = {spec.key: len(getattr(config, spec.key)) for spec in CONFIG_FILES} if config else {}
    return {"config": str(directory), "ok": not problems, "problems": problems, "counts": counts}


def load_config(path: Path) -> Config:
    """Load and cross-check the config directory; ConfigError lists every problem found
    (:class:`MissingConfigError` where there is no directory at all)."""
    directory = Path(path)
    if not directory.exists():
        raise MissingConfigError(directory)
    config, problems = _read(directory)
    if config is None:
        if len(problems) == 1:
            raise ConfigError(problems[0], problems=problems)
        raise ConfigError(
            f"{len(problems)} problems in config directory {directory}",
            problems=problems,
            next_step=NextStep(Step.LIST_CONFIG_PROBLEMS),
        )
    return config


def config_to_yaml(config: Config) -> dict[str, str]:
    """File name -> YAML text for every file of ``config`` (what :func:`write_config` writes)."""
    contents: dict[str, Sequence[BaseModel]] = {
        BRANCHES.filename: config.branches,
        EMPLOYEES.filename: config.employees,
        TASKS.filename: config.tasks,
        EVENTS.filename: config.events,
        PROMOTIONS.filename: config.promotions,
        HOLIDAYS.filename: config.holidays,
    }
    keys = {spec.filename: spec.key for spec in CONFIG_FILES}
    return {name: dump_entries(keys[name], models) for name, models in contents.items()}


def write_config(config: Config, directory: Path) -> None:
    """Write ``config`` as a config directory (comments of hand-written files are not kept).

    Each file is replaced whole or not at all; a ``directory`` that is a file, or
    a file that cannot be written, raises :class:`~retail_intel.errors.WriteError` naming it.
    """
    directory = Path(directory)
    for name, text in config_to_yaml(config).items():
        atomic_write_bytes(text.encode("utf-8"), directory / name)
