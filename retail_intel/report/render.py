"""Matplotlib figures to SVG text or PNG bytes, the same way every time.

SVG keeps its text as text (``svg.fonttype: none``), so a report stays small
and searchable, and a fixed hash salt with no date in the metadata makes the
same figure give the same bytes, run after run.
"""

from __future__ import annotations

import base64
import io
import re
import threading

import matplotlib
from matplotlib.figure import Figure

PNG_DPI = 110

# rc_context changes Matplotlib's process-wide settings for the duration of a
# save; the dashboard draws from several threads, so saves take turns.
_SAVING = threading.Lock()


_ID = re.compile(r'\bid="([^"]+)"')
_REFERENCE = re.compile(r'(url\(#|href="#)([^")]+)')


def figure_svg(figure: Figure, id_prefix: str = "") -> str:
    """The figure as an ``<svg>`` element, ready to inline in HTML (no XML prologue).

    Matplotlib numbers its ids per figure (``axes_1``, clip paths...), so two
    charts on one page would share ids; ``id_prefix`` is put in front of every
    id and every reference to one, making them unique within the page.
    """
    buffer = io.StringIO()
    with _SAVING, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "retail-intel"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    if id_prefix:
        text = _ID.sub(lambda m: f'id="{id_prefix}{m.group(1)}"', text)
        text = _REFERENCE.sub(lambda m: f"{m.group(1)}{id_prefix}{m.group(2)}", text)
    return text


def figure_png(figure: Figure, dpi: int = PNG_DPI) -> bytes:
    buffer = io.BytesIO()
    with _SAVING:
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
