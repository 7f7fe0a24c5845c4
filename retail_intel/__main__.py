"""``python -m retail_intel`` is the same as the ``retail-intel`` command."""

from retail_intel.cli.app import main

main()
