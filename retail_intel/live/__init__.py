"""Live streams: count people from a camera's RTSP/HTTP/UDP stream as they come and go.

See docs/live.md. :func:`retail_intel.live.session.process_stream` is the
entry point; :mod:`retail_intel.live.urls` is cheap to import (no OpenCV).
"""
