"""Ingest movement events produced elsewhere (JSON Lines or CSV) into the movement store."""

from retail_intel.ingest.core import IngestResult, default_rejects_path, ingest_file
from retail_intel.ingest.reader import REQUIRED_FIELDS, InputFormat

__all__ = ["REQUIRED_FIELDS", "IngestResult", "InputFormat", "default_rejects_path", "ingest_file"]
