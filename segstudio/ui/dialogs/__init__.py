"""Dialogs opened from the window's menus (one module each)."""
