"""Video in, person boxes and tracks out: the only package that touches OpenCV and Ultralytics."""
