"""A clearly labelled synthetic data set (config + movements) for demos and benchmarks."""

from retail_intel.demo.generate import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo"]
