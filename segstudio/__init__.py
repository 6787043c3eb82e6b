"""segstudio: label, auto-segment, brush-correct and fine-tune segmentation networks."""

import os

__version__ = "0.1.0"

# libgomp (torch's OpenMP on Linux) spin-waits ~300k iterations by default; with the GUI, a
# prediction worker and a fine-tune sharing a few cores, that spinning stalls every torch op
# (ENet 35 ms -> 300+ ms under load). Read when torch loads, so set before any torch import.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")
