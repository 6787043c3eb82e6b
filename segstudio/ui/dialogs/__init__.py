"""Dialogs of the window that are more than a message box (each in its own module)."""
