"""From tracks to movement events: geometry, stitching, classification, the Parquet contract.

Pure: nothing here imports OpenCV, Ultralytics or supervision.
"""
