"""What the window's companions may ask of the window itself, as a small protocol.

The commands, the other-writers watcher and others get their collaborators (canvas, tools,
docks, runs, notifier) passed in by name; of the window they need only the project and image
on screen and a few window-level actions, which this protocol names. Typing against it keeps
them from reaching into the window for anything else, and lets a test give them a stand-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from segstudio.core.editing import MaskDocument
    from segstudio.core.project import ImageEntry
    from segstudio.ui.session import Session


class WindowView(Protocol):
    """The open project, the image on screen, and what only the window can do."""

    session: Session | None
    current_key: str | None
    image_shape: tuple[int, int] | None

    def current_entry(self) -> ImageEntry | None: ...

    def current_document(self) -> MaskDocument | None: ...

    def show_image(self, key: str) -> None: ...

    def open_folder(self, folder: Path) -> bool: ...

    def update_title(self) -> None: ...

    def close(self) -> bool: ...
