"""``retail-intel setup``: draw a camera's region, door line and pass-by zone in a browser.

:func:`run_setup` serves a local page (127.0.0.1) over one picture of the
camera; saving writes branches.yaml with the same targeted, validated edit
as ``calibrate --write``. :mod:`retail_intel.camsetup.shapes` holds the
shape kinds and their YAML, without any web or video code.
"""

from retail_intel.camsetup.app import SetupSession, create_setup_app
from retail_intel.camsetup.frame import Picture, frame_from_video, latest_picture
from retail_intel.camsetup.run import run_setup, setup_server, setup_session
from retail_intel.camsetup.shapes import SHAPE_KINDS, Shape, ShapeKind, camera_shapes, parse_shapes, yaml_edit

__all__ = [
    "SHAPE_KINDS",
    "Picture",
    "SetupSession",
    "Shape",
    "ShapeKind",
    "camera_shapes",
    "create_setup_app",
    "frame_from_video",
    "latest_picture",
    "parse_shapes",
    "run_setup",
    "setup_server",
    "setup_session",
    "yaml_edit",
]
