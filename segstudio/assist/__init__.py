"""Assisted labelling tools that need no weights: a box that becomes the object's mask
(GrabCut), a polygon whose edges snap to image edges (intelligent scissors) and a brush that
paints whole edge-bounded regions (watershed superpixels). numpy + OpenCV only, no Qt: the
window's tools and `segstudio bench assist` drive the same code.

Layering: ui -> assist -> core (tests/test_layers.py).
"""
