"""Which inference devices this machine has, checked before any video is opened."""

from __future__ import annotations

from retail_intel.config.camera_settings import SettingsError


def available_devices() -> list[str]:
    """``cpu`` and every CUDA device PyTorch sees (``cuda:0``, ...)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ["cpu", *(f"cuda:{i}" for i in range(count))]


def check_device(device: str | None) -> None:
    """Refuse a device this machine does not have, naming the ones it has."""
    if device in (None, "cpu"):
        return
    assert device is not None
    index = device.removeprefix("cuda").removeprefix(":") or "0"
    have = available_devices()
    if f"cuda:{index}" not in have:
        cuda = [d for d in have if d != "cpu"]
        what = f"this machine has {', '.join(cuda)}" if cuda else "this machine has no CUDA device"
        raise SettingsError("device", device, f"{what}; available here: {', '.join(have)}", bounds=False)
