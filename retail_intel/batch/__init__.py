"""Batch processing of footage archives: ``retail-intel process ARCHIVE/``.

:func:`~retail_intel.batch.runner.run_batch` is the entry point; docs/batch.md
describes the folder layout, manifests, the ledger, resuming and Ray.
"""
