"""Deleting a class, or merging one into another, with the label files rewritten to match.

Both are a value mapping (a 256-entry table) over every label file, plus a new class set:
- **delete** class k: its pixels become void (the eraser's value), the classes after it move
  down by one;
- **merge** A into B: A's pixels become B, then A is deleted as above.

Void (the ignore index) keeps its value; a class's colour, name and weight go with it. The
dataset's own classes.json is never touched: segstudio.json holds the project's classes from
then on (they count as the user's, core.class_origin). The originals of the rewritten files
are kept so that the last change can be undone (`undo_last_remap`, core.class_undo) until a
label changes; models trained on the old classes no longer fit, so the app asks first.

The order never leaves a file whose values mean something else than the recorded classes say,
except for the few renames of step 3, which `finish_pending_remap` completes after a crash
(the app calls it when a project opens, and so does `segstudio classes`):
1. read and check every label file under the old classes; write the rewritten ones beside
   them under short hidden names (a 243-character label name leaves no room for a suffix),
   and a manifest in `.segstudio/`; nothing the project reads has changed yet (any error:
   the staged files are removed, the error names the file);
2. record the new classes in segstudio.json, with `settings["class_remap"]` while under way;
3. move each staged file over its label (`os.replace`, atomic);
4. drop the record and the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.core import class_undo
from segstudio.core.atomic import atomic_write_bytes, atomic_write_json, is_writable
from segstudio.core.classes import ADOPTED_KEY, ClassSet
from segstudio.core.errors import ClassSetError, LabelError, ProjectError, WriteError
from segstudio.core.listing import scan_tree

PENDING_KEY = "class_remap"
MANIFEST = "class_remap.json"
_STAGED_PREFIX = ".ssremap-"


@dataclass
class RemapProgress:
    """What `progress` receives: `done` of `total` files in `stage` ("check" or "rewrite")."""

    stage: str
    done: int
    total: int


@dataclass
class RemapPlan:
    """What a delete or merge would do, for the question to the user."""

    what: str                         # "delete 'car'", "merge 'van' into 'car'"
    old: ClassSet
    new: ClassSet
    lut: np.ndarray                   # (256,) uint8: old value -> new value
    labels_dir: Path
    files: list[Path] = field(default_factory=list)   # every label file (to check)
    blocked: str = ""                                   # why it cannot be done ("" when it can)


def find_class(classes: ClassSet, name: str) -> int:
    """The index of class `name` (or of a number given as text); ClassSetError otherwise."""
    if name in classes.names:
        return classes.names.index(name)
    if name.strip().isdigit() and int(name) < classes.num_classes:
        return int(name)
    raise ClassSetError(f"no class {name!r}; the classes are: {', '.join(classes.names)}")


def _without(classes: ClassSet, index: int) -> tuple[ClassSet, np.ndarray]:
    """The class set without class `index`, and the table taking old values to new ones."""
    if classes.num_classes <= 1:
        raise ClassSetError(f"{classes.names[index]!r} is the only class; a project needs one")
    d = classes.to_dict()
    d.pop(ADOPTED_KEY, None)          # edited classes are the user's
    kept = [c for c in d["classes"] if c["index"] != index]
    d["classes"] = [{**c, "index": i} for i, c in enumerate(kept)]
    if classes.weights is not None:
        d["median_frequency_weights"] = [w for i, w in enumerate(classes.weights) if i != index]
    lut = np.arange(256, dtype=np.uint8)
    lut[index] = classes.ignore_index
    lut[index + 1: classes.num_classes] -= 1
    return ClassSet.from_dict(d), lut


def plan_delete(project, name: str) -> RemapPlan:
    classes = project.classes
    index = find_class(classes, name)
    new, lut = _without(classes, index)
    return _plan(project, f"delete {classes.names[index]!r}", new, lut)


def plan_merge(project, source: str, target: str) -> RemapPlan:
    classes = project.classes
    a, b = find_class(classes, source), find_class(classes, target)
    if a == b:
        raise ClassSetError(f"cannot merge {classes.names[a]!r} into itself")
    new, lut = _without(classes, a)
    lut[a] = lut[b]
    return _plan(project, f"merge {classes.names[a]!r} into {classes.names[b]!r}", new, lut)


def _plan(project, what: str, new: ClassSet, lut: np.ndarray) -> RemapPlan:
    if project.settings.get(PENDING_KEY):
        raise ProjectError(f"{project.root}: an earlier class change is unfinished; open the "
                           "project in segstudio (or run `segstudio classes`) to finish it")
    labels_dir = project.labels_dir
    files = [labels_dir / rel for rel in
             scan_tree(labels_dir, (".png",), within=(project.root, labels_dir)).files] \
        if labels_dir.is_dir() else []
    plan = RemapPlan(what, project.classes, new, lut, labels_dir, files)
    for folder in (project.root, labels_dir if labels_dir.is_dir() else project.root):
        if not is_writable(folder):
            plan.blocked = (f"{folder} is read-only, so segstudio cannot {what}: copy the "
                            "project folder somewhere writable and open the copy")
            break
    return plan


def _staged(path: Path) -> Path:
    digest = hashlib.sha1(path.name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return path.with_name(_STAGED_PREFIX + digest)


def _encode_like(path: Path, mask: np.ndarray, classes: ClassSet, mode: str) -> bytes:
    """`mask` as the file was: greyscale stays greyscale, colour stays colour, else palette."""
    import io

    from PIL import Image

    from segstudio.core.labels import encode_label

    if mode in ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N"):
        img = Image.fromarray(mask, mode="L")
    elif mode in ("RGB", "RGBA"):
        img = Image.fromarray(classes.palette()[mask], mode="RGB")
    else:
        return encode_label(mask, classes)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def apply_remap(project, plan: RemapPlan, *,
                progress: Callable[[RemapProgress], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> int:
    """Carry out `plan` (the module's steps); returns how many label files were rewritten.
    ProjectError when blocked, LabelError naming the first unreadable file; in both cases,
    and on `cancel` (honoured until step 2), nothing the project reads has changed."""
    from segstudio.core.imageio import open_pil
    from segstudio.core.labels import read_label

    if plan.blocked:
        raise ProjectError(plan.blocked)
    finish_pending_remap(project)          # leftovers of an interrupted step 1
    staged: list[tuple[Path, Path]] = []
    backups: list[tuple[Path, Path]] = []   # the originals, for the undo (core.class_undo)
    hashes: dict[str, str] = {}             # every label file as the change leaves it
    token = class_undo.new_token()
    try:
        for i, path in enumerate(plan.files):
            if cancel is not None and cancel():
                raise _Cancelled
            with open_pil(path, LabelError) as img:
                mode = img.mode
            original = path.read_bytes()
            mask = read_label(path, plan.old)
            new = plan.lut[mask]
            data = original
            if not np.array_equal(new, mask):
                target = _staged(path)
                data = _encode_like(path, new, plan.new, mode)
                try:
                    atomic_write_bytes(target, data)
                except WriteError as e:
                    raise ProjectError(f"cannot {plan.what}: {e}") from None
                staged.append((target, path))
                backups.append((class_undo.write_backup(project, path, original, token), path))
            hashes[path.relative_to(plan.labels_dir).as_posix()] = class_undo.sha256(data)
            if progress is not None:
                progress(RemapProgress("check", i + 1, len(plan.files)))
        _write_manifest(project, staged)
    except BaseException as exc:
        for target, _ in staged + backups:
            target.unlink(missing_ok=True)
        class_undo.discard(project, token)   # the previous change's undo still holds
        if isinstance(exc, _Cancelled):
            return 0
        raise
    # 2. From here the staged files are the truth.
    project.classes = plan.new
    project.settings[PENDING_KEY] = {"what": plan.what}
    project.save()
    done = _commit(project, staged, progress)
    class_undo.write_record(project, class_undo.UndoRecord(
        plan.what, plan.old, plan.new, backups, hashes), token)
    return done


def undo_last_remap(project, *,
                    progress: Callable[[RemapProgress], None] | None = None) -> str:
    """Put back the classes and the label files of the last delete or merge; returns what
    was undone ("merge 'van' into 'car'"). ProjectError, nothing changed, when there is none
    or when a label or the classes changed since (core.class_undo.undo_problem)."""
    if project.settings.get(PENDING_KEY):
        finish_pending_remap(project)
    record = class_undo.read_record(project)
    assert record is not None
    problem = class_undo.undo_problem(project, record)
    if problem:
        raise ProjectError(problem)
    # The same steps as a change, the copies staged beside their labels (os.replace then
    # never crosses a file system).
    staged: list[tuple[Path, Path]] = []
    try:
        for copy, label in record.backups:
            target = _staged(label)
            atomic_write_bytes(target, copy.read_bytes())
            staged.append((target, label))
        _write_manifest(project, staged)
    except BaseException as exc:
        for target, _ in staged:
            target.unlink(missing_ok=True)
        if isinstance(exc, (OSError, WriteError)):
            raise ProjectError(f"cannot undo {record.what}: {exc}") from None
        raise
    project.classes = record.before
    project.settings[PENDING_KEY] = {"what": f"undo {record.what}"}
    project.save()
    class_undo.drop_record(project)     # a crash from here: opening finishes the undo
    _commit(project, staged, progress)
    class_undo.drop_backups(project)
    return record.what


class _Cancelled(Exception):
    pass


def _manifest_path(project) -> Path:
    return project.store_dir / MANIFEST


def _write_manifest(project, staged: list[tuple[Path, Path]]) -> None:
    root = project.labels_dir
    project.store_dir.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_json(_manifest_path(project), {"files": [
            [str(s.relative_to(root)), str(t.relative_to(root))] for s, t in staged]})
    except WriteError as e:
        raise ProjectError(f"cannot record the class change: {e}") from None


def _read_manifest(project) -> list[tuple[Path, Path]]:
    try:
        data = json.loads(_manifest_path(project).read_text(encoding="utf-8"))
        root = project.labels_dir
        return [(root / s, root / t) for s, t in data["files"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ProjectError(f"{_manifest_path(project)}: cannot read ({e})") from None


def _commit(project, staged: list[tuple[Path, Path]],
            progress: Callable[[RemapProgress], None] | None) -> int:
    done = 0
    for i, (source, target) in enumerate(staged):
        if source.exists():
            try:
                os.replace(source, target)
            except OSError as e:
                raise ProjectError(f"{target}: cannot replace ({e.strerror or e}); the change "
                                   "is recorded and opening the project finishes it") from None
            done += 1
        if progress is not None:
            progress(RemapProgress("rewrite", i + 1, len(staged)))
    project.settings.pop(PENDING_KEY, None)
    project.save()
    _manifest_path(project).unlink(missing_ok=True)
    return done


def finish_pending_remap(project) -> int:
    """After a crash: complete a recorded change (its staged files go over the labels), or
    remove the staged files of one that never got recorded. Returns files completed."""
    staged = _read_manifest(project)
    if project.settings.get(PENDING_KEY):
        return _commit(project, staged, None)
    for source, _ in staged:
        source.unlink(missing_ok=True)
    _manifest_path(project).unlink(missing_ok=True)
    return 0
