"""Matplotlib figures to SVG text or PNG bytes, the same way every time.

SVG keeps its text as text (``svg.fonttype: none``), so a report stays small
and searchable, and a fixed hash salt with no date in the metadata makes the
same figure give the same bytes, run after run.
"""

from __future__ import annotations

import base64
import io
import threading

import matplotlib
from matplotlib.figure import Figure

PNG_DPI = 110

# rc_context changes Matplotlib's process-wide settings for the duration of a
# save; the dashboard draws from several threads, so saves take turns.
_SAVING = threading.Lock()


def figure_svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element, ready to inline in HTML (no XML prologue)."""
    buffer = io.StringIO()
    with _SAVING, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "retail-intel"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def figure_png(figure: Figure, dpi: int = PNG_DPI) -> bytes:
    buffer = io.BytesIO()
    with _SAVING:
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
