"""The ``process`` job: video -> detections -> tracks -> judged people -> Parquet."""
