"""retail-intel: footfall analytics from recorded CCTV footage.

Recorded video in, Parquet movement events and store KPIs out.
"""

from retail_intel.errors import RetailIntelError

__version__ = "0.1.0"

__all__ = ["RetailIntelError", "__version__"]
