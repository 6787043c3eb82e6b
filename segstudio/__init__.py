"""segstudio: label, auto-segment, brush-correct and fine-tune segmentation networks."""

__version__ = "0.1.0"
