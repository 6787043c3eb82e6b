"""Whose classes a project has: the user's own, or a placeholder a model may replace.

Issue 18: a project with its own classes (a classes.json of road/car/other, or classes added
and renamed in the app) and no labels yet took the shipped model's CamVid classes on Segment,
and nothing brought them back. The rule now, for the app and the CLI alike
(`engine.workflow.adopt_or_check_classes` and `default_active` call it):

A project's classes are **the user's** (never replaced by a model's; a model whose classes
differ does not fit) when
1. a `classes.json` sits in the project folder or its parent (a dataset's own, or one the user
   wrote): it is what the user said the classes are, whatever it holds; or
2. they differ from the default placeholder (background + object) and were not taken from a
   model: added, renamed, recoloured, deleted or merged in the app or the CLI, imported, or
   written into segstudio.json by hand.

They are a **placeholder** (a model's may replace them, in a project without labels) when
they are the default background/object of a bare folder, or exactly the classes a model
brought in earlier (marked `adopted_from` in segstudio.json's class set; any edit of the
class set drops the mark, see `core.classes.ClassSet`), so choosing another model on a fresh
project still works.
"""

from __future__ import annotations

from pathlib import Path

from segstudio.core.classes import ADOPTED_KEY, ClassSet, default_classes

CLASSES_JSON = "classes.json"


def classes_json(root: Path) -> Path | None:
    """The classes.json a project at `root` reads (in it or one level up), if any."""
    for folder in (root, root.parent):
        path = folder / CLASSES_JSON
        if path.is_file():
            return path
    return None


def _same(a: ClassSet, b: ClassSet) -> bool:
    return (a.names, a.colors, a.ignore_index) == (b.names, b.colors, b.ignore_index)


def own_classes(project) -> str | None:
    """Why the project's classes are the user's (a phrase, e.g. "from .../classes.json"), or
    None when they are a placeholder that a model's classes may replace."""
    found = classes_json(project.root)
    if found is not None:
        return f"from {found}"
    classes = project.classes
    if classes.extra.get(ADOPTED_KEY):
        return None
    if _same(classes, default_classes()):
        return None
    return "defined in this project"


def mark_adopted(classes: ClassSet, source: str) -> ClassSet:
    """A copy of a model's classes, marked as taken from `source` (a checkpoint's name)."""
    out = classes.copy()
    out.extra[ADOPTED_KEY] = source
    return out


def replaceable(project) -> bool:
    """Whether a model's classes may replace the project's: no labels yet, and classes that
    are a placeholder, not the user's."""
    from segstudio.core.entries import ImageState

    if own_classes(project) is not None:
        return False
    return all(project.state(e) is ImageState.UNLABELED for e in project.entries)


def origin_note(project) -> tuple[str, str]:
    """What the Classes panel says about whose classes these are, as (one short line, the
    whole of it for hover); ("", "") for the user's own. Issue 19: a new folder listed
    background/object until the first Segment swapped them for the model's without a word."""
    if own_classes(project) is not None:
        return "", ""
    source = project.classes.extra.get(ADOPTED_KEY)
    short = Path(str(source)).stem if source else ""    # one line in a narrow panel
    if not replaceable(project):
        if source:
            return f"Classes from {short}", f"The classes came from the model {source}."
        return "", ""
    if source:
        return (f"From the model {short}, until you label",
                f"These are the classes of the active model, {source}: Segment uses them. "
                "Choosing another model replaces them until the first label is saved; "
                "adding, renaming or deleting a class makes them the project's own.")
    return ("Placeholder classes: Add… or Rename… yours",
            "This project has no classes of its own yet (a classes.json in the folder, or "
            "classes added or renamed here, make them its own). Until the first label is "
            "saved, choosing a model replaces them with the model's classes.")
