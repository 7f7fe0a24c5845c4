"""Writing a camera's detection settings into branches.yaml without losing its comments.

The file is hand-edited and commented, so it is changed by a targeted text
edit: the camera's block is found by its branch and camera ids, an existing
``key: value`` line keeps its trailing comment, a missing key is added at the
end of the block. The result is validated on a copy of the config directory
and checked to hold the new values before it replaces the original.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from retail_intel.errors import ConfigError, InputError
from retail_intel.storage import atomic_write_bytes

BRANCHES_FILE = "branches.yaml"
_ID_LINE = re.compile(r"^(?P<indent>\s*)-\s+id:\s*(?P<id>['\"]?[^'\"#\s]+['\"]?)\s*(#.*)?$")
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w]*):(?P<rest>.*)$")


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, dash_indent: int) -> int:
    """Index after the last line of the list item starting at ``start``."""
    end = start + 1
    for i in range(start + 1, len(lines)):
        if _is_content(lines[i]) and _indent(lines[i]) <= dash_indent:
            break
        if _is_content(lines[i]):
            end = i + 1
    return end


def _list_span(lines: list[str], lo: int, hi: int, key: str, indent: int) -> tuple[int, int, int | None]:
    """(first line, end, dash indent) of the block-style list under ``key:`` (at ``indent``) in ``lines[lo:hi]``.

    The dash indent is None when there is no such key or no block-style item under it.
    """
    for i in range(lo, hi):
        match = _KEY_LINE.match(lines[i])
        if match and len(match["indent"]) == indent and match["key"] == key:
            end = i + 1
            for j in range(i + 1, hi):  # the items may be indented deeper than the key, or not at all
                if _is_content(lines[j]):
                    deeper = _indent(lines[j]) > indent
                    if not deeper and not (_indent(lines[j]) == indent and lines[j].lstrip().startswith("-")):
                        break
                    end = j + 1
            first = next((line for line in lines[i + 1 : end] if _is_content(line)), "")
            return i + 1, end, _indent(first) if first.lstrip().startswith("-") else None
    return lo, hi, None


def _find_item(
    lines: list[str], lo: int, hi: int, item_id: str, what: str, path: Path, dash_indent: int | None = None
) -> tuple[int, int, int]:
    """(first line, end, dash indent) of the ``- id: item_id`` list item within ``lines[lo:hi]``.

    With ``dash_indent`` only items of that list count, not a deeper one's (a camera's named
    zone "door" is not the camera "door").
    """
    for i in range(lo, hi):
        match = _ID_LINE.match(lines[i])
        if dash_indent is not None and match and len(match["indent"]) != dash_indent:
            continue
        if match and match["id"].strip("'\"") == item_id:
            dash = len(match["indent"])
            return i, min(_block_end(lines, i, dash), hi), dash
    raise InputError(
        f"{path}: no {what} with '- id: {item_id}' written in block style; "
        f"add the settings to it by hand (see docs/config.md)"
    )


# Strings written without quotes: identifiers that YAML does not read as anything else.
_PLAIN = re.compile(r"^[A-Za-z_][\w.-]*$")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


def _format(value: object) -> str:
    """``value`` as one line of YAML (flow style for lists and mappings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_format(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and (not _PLAIN.match(value) or value.lower() in _YAML_WORDS):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _value_end(lines: list[str], key_line: int, end: int, indent: int) -> int:
    """Index after the key's value: a block-style value continues on deeper-indented lines."""
    stop = key_line + 1
    for i in range(key_line + 1, end):
        if _is_content(lines[i]):
            if _indent(lines[i]) <= indent:
                break
            stop = i + 1
    return stop


def edit_camera_text(
    text: str,
    branch_id: str,
    camera_id: str,
    values: Mapping[str, object],
    path: Path,
    *,
    remove: Iterable[str] = (),
) -> str:
    """``text`` with the camera's keys set to ``values`` and the ``remove`` keys gone (pure: no file access).

    A key whose value was written in block style (on the lines below it) is
    replaced whole; comments inside such a value go with it.
    """
    lines = text.splitlines(keepends=False)
    lo, hi, dash = _list_span(lines, 0, len(lines), "branches", 0)
    b_start, b_end, _ = _find_item(lines, lo, hi, branch_id, "branch", path, dash)
    lo, hi, dash = _list_span(lines, b_start + 1, b_end, "cameras", lines[b_start].index("id:"))
    c_start, c_end, _ = _find_item(lines, lo, hi, camera_id, f"camera in branch {branch_id}", path, dash)
    # keys of a list item line up with the ``id`` after "- "
    indent = lines[c_start].index("id:")
    for key in remove:
        for i in range(c_start + 1, c_end):
            match = _KEY_LINE.match(lines[i])
            if match and len(match["indent"]) == indent and match["key"] == key:
                stop = _value_end(lines, i, c_end, indent)
                del lines[i:stop]
                c_end -= stop - i
                break
    for key, value in values.items():
        for i in range(c_start + 1, c_end):
            match = _KEY_LINE.match(lines[i])
            if match and len(match["indent"]) == indent and match["key"] == key:
                stop = _value_end(lines, i, c_end, indent)
                if stop > i + 1:
                    del lines[i + 1 : stop]
                    c_end -= stop - i - 1
                new_value = f" {_format(value)}"
                value_part, hash_, note = match["rest"].partition("#")
                if hash_:
                    # keep the comment in the same column where there is room
                    spaces = max(1, len(value_part) - len(new_value))
                    new_value += " " * spaces + "#" + note
                lines[i] = f"{match['indent']}{key}:{new_value}"
                break
        else:
            lines.insert(c_end, f"{' ' * indent}{key}: {_format(value)}")
            c_end += 1
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def _landed(written: object, stored: object) -> bool:
    """Whether ``stored`` (read back) holds ``written``: a mapping holds the keys written, and may have more.

    The model fills a mapping's keys left out with their defaults (a door line
    written without ``band_px`` reads back with ``band_px: 10.0``), so only the
    keys written are compared.
    """
    if isinstance(written, Mapping):
        return isinstance(stored, Mapping) and all(
            key in stored and _landed(value, stored[key]) for key, value in written.items()
        )
    return stored == written


def write_camera_settings(
    config_dir: Path,
    branch_id: str,
    camera_id: str,
    values: Mapping[str, object],
    *,
    remove: Iterable[str] = (),
    action: str = "write_camera_settings",
) -> Path:
    """Set ``values`` (e.g. ``{"imgsz": 1280, "tiles": 1}``) on one camera in ``branches.yaml``, drop ``remove``.

    Values are plain YAML data (numbers, strings, lists, mappings). Raises
    :class:`ConfigError` (and leaves the file alone) if the edited config
    does not validate or does not read back as ``values``. ``action`` is what the caller calls this
    write in messages (its flag: ``--write``).
    """
    from retail_intel.config.loader import load_config

    path = config_dir / BRANCHES_FILE
    if not path.is_file():
        raise InputError(f"{path}: no such file; {action} needs the config directory holding branches.yaml")
    with open(path, newline="") as handle:  # as it is: a file saved on Windows keeps its CRLF line ends
        original = handle.read()
    newline = "\r\n" if "\r\n" in original else "\n"
    removed = [key for key in remove if key not in values]
    edited = edit_camera_text(original.replace("\r\n", "\n"), branch_id, camera_id, values, path, remove=removed)
    edited = edited.replace("\n", newline)
    with tempfile.TemporaryDirectory(prefix="retail-intel-config-") as scratch:
        copy = Path(scratch) / "config"
        shutil.copytree(config_dir, copy)
        (copy / BRANCHES_FILE).write_text(edited)
        try:
            camera = load_config(copy).camera(branch_id, camera_id)
        except ConfigError as exc:
            raise ConfigError(
                f"{path}: setting {dict(values)} on camera {camera_id} would make the config invalid; "
                "nothing was written",
                problems=exc.problems,
            ) from exc
        # Compared as JSON data, so a tuple of floats read back equals the list of ints written.
        stored = camera.model_dump(mode="json")
        wrong = {k: stored.get(k) for k, v in values.items() if not _landed(v, stored.get(k))}
        wrong.update({k: stored.get(k) for k in removed if stored.get(k) is not None})
        if wrong:
            raise ConfigError(
                f"{path}: the edit did not land on camera {camera_id} as expected ({wrong}); nothing was written"
            )
    # Into the file itself: a branches.yaml linked from elsewhere (a deployment's repository) kept its
    # old text behind a link that the rename had turned into a plain file of the new one
    atomic_write_bytes(edited.encode(), path.resolve())
    return path
