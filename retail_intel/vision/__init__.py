"""Video in, person boxes and tracks out: the only package that touches OpenCV and Ultralytics."""

import os

# FFmpeg inside OpenCV prints decoder chatter ("overread 8") straight to stderr;
# our own errors say what broke. Must be set before cv2 is first imported.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
