"""Which model a project uses: its runs, its one active checkpoint, and the choices to show.

A project has one **active** checkpoint: what Segment uses. It lives in segstudio.json
(`settings.active`, relative to the project when inside it). When none was ever chosen the
shipped ENet is the default, but only where it can be used: the project's classes are
CamVid's, or the project has no labels yet and its classes are a placeholder (it then takes
the checkpoint's classes). Classes the user defined are never replaced by a model's
(`core.class_origin` says which are the user's): a model with other classes does not fit.
`set_active(project, None)` chooses *no* model (stored as null): the shipped one is then not
used either, until a fine-tune or the user makes a model active.
Every fine-tune is a *run*, recorded in `checkpoints` with its architecture, parent,
settings, status and figures; `model_choices` turns those into what the Model panel lists.
This module is the one that changes `checkpoints` (start_run, update_run, forget_run,
delete_run, rename_run; tests/test_ui_writes_no_settings.py holds every other module to it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from segstudio.core.entries import ImageState
from segstudio.core.errors import SegstudioError
from segstudio.core.project import Project

ACTIVE_KEY = "active"
LEGACY_KEY = "checkpoint"   # what segstudio 0.1 stored for the selected weights


def shipped_checkpoint() -> Path | None:
    """The shipped ENet's file, or None where the package was installed without it."""
    from segstudio.engine.checkpoint import default_checkpoint

    path = default_checkpoint()
    return path if path.is_file() else None


# The old private name, for engine/workflow/finetune.py until it imports the public one.


def _shipped_classes():
    from segstudio.core.classes import builtin_classes

    return builtin_classes("camvid")


def _has_labels(project: Project) -> bool:
    return any(project.state(e) is not ImageState.UNLABELED for e in project.entries)


def default_active(project: Project) -> Path | None:
    """The shipped ENet when this project can use it as it is, else None."""
    from segstudio.engine.checkpoint import classes_mismatch

    shipped = shipped_checkpoint()
    if shipped is None:
        return None
    if classes_mismatch(project.classes, _shipped_classes()) is None or may_adopt(project):
        return shipped
    return None


def may_adopt(project: Project) -> bool:
    """Whether a model's classes may replace the project's: no labels yet, and classes that
    are a placeholder, not the user's (core.class_origin)."""
    from segstudio.core.class_origin import replaceable

    return replaceable(project)


def adopt_active_classes(project: Project, adopt: Callable | None = None) -> bool:
    """A project whose classes a model may replace takes the active model's classes now, when
    it opens, as its first Segment would: what the Classes panel shows is then what Segment
    and painting use (issue 19: a new folder showed background/object until then). Reads the
    checkpoint's header only. False when nothing changed (no active model, the user's own
    classes, labels already, the same classes, or a header that cannot be read: Segment
    reports that one)."""
    from segstudio.engine.checkpoint_header import CheckpointHeaderError, read_classes

    active = active_checkpoint(project) if may_adopt(project) else None
    if active is None:
        return False
    try:
        _, classes = read_classes(active)
        # In memory only: opening a folder writes nothing into it (the first label saves
        # the classes first, core.label_saving).
        return adopt_or_check_classes(project, classes, active, adopt, save=False)
    except (CheckpointHeaderError, SegstudioError, OSError):
        return False


def active_checkpoint(project: Project) -> Path | None:
    """The checkpoint Segment uses (None: no model chosen, or none chosen and the shipped one
    does not fit)."""
    stored = project.settings.get(ACTIVE_KEY) or project.settings.get(LEGACY_KEY)
    if stored:
        path = project.checkpoint_path(stored)
        return path if path.is_file() else None
    if ACTIVE_KEY in project.settings:
        return None   # no model, chosen explicitly
    return default_active(project)


def set_active(project: Project, path: str | Path | None) -> None:
    """The user's (or the rule's) choice; written to segstudio.json at once. None: no model
    (not even the shipped default)."""
    project.settings[ACTIVE_KEY] = None if path is None else project.relative_path(path)
    project.settings.pop(LEGACY_KEY, None)
    project.save()


def architectures() -> list[str]:
    """The networks a project can fine-tune, in the order the app lists them."""
    from segstudio.models import list_models

    return list_models()


def display_name(project: Project, path: Path) -> str:
    """How the user knows a checkpoint: its run's name, "the shipped ENet", or its file."""
    shipped = shipped_checkpoint()
    if shipped is not None and path.resolve() == shipped.resolve():
        return "the shipped ENet (CamVid)"
    rel = project.relative_path(path)
    rec = next((r for r in project.checkpoints if r.get("path") == rel), None)
    return rec.get("name") or path.name if rec else path.name


def run_records(project: Project) -> list[dict]:
    """The project's runs and registered checkpoints, newest first."""
    return list(reversed(project.checkpoints))


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True   # exists, owned by someone else
    return True


def record_status(record: dict) -> str:
    """finished | cancelled | failed | diverged | running | interrupted | imported."""
    status = record.get("status", "imported")
    if status == "running" and not _alive(record.get("pid")):
        return "interrupted"
    return status


@dataclass
class ModelChoice:
    path: Path
    label: str                   # what the list shows
    kind: str                    # "run" | "shipped" | "file"
    arch: str | None = None
    status: str = "finished"
    miou: float | None = None    # best validation mIoU of the run
    start_miou: float | None = None
    baseline_miou: float | None = None
    active: bool = False
    usable: bool = True          # has weights to predict with
    note: str = ""               # why it is not active, what happened
    record: dict | None = None
    resumable: bool = False      # a stopped run whose training state can continue


def resumable(project: Project, record: dict) -> bool:
    """A stopped run that can continue: its training state was saved at an epoch end."""
    if record_status(record) not in ("cancelled", "interrupted"):
        return False
    from segstudio.engine.train_types import STATE_FILE

    return (project.checkpoint_path(record).parent / STATE_FILE).is_file()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def describe_run(record: dict, active: bool = False) -> str:
    """One line on a run: its figures and what became of it. `active`: the run is the
    project's active model now, so a verdict that kept it inactive is history, not news."""
    status = record_status(record)
    miou, start = record.get("miou"), record.get("baseline_miou", record.get("start_miou"))
    text = f"val mIoU {_pct(miou)}"
    if start is not None:
        text += f" (was {_pct(start)} before)"
    done = record.get("epochs_done")
    if status in ("cancelled", "interrupted") and done is not None:
        text += f"; {status} after epoch {done}"
    elif status not in ("finished", "imported"):
        text += f"; {status}"
    verdict = record.get("verdict") or {}
    note = record.get("note") or ""
    if active and verdict and not verdict.get("activated"):
        # The user chose it after the fine-tune kept it inactive: "not made active ... you
        # can still choose it" would say the opposite of what the list shows (issue 19).
        head, _, _ = note.partition("not made active")
        why = str(verdict.get("why", "")).replace("; you can still choose it", "")
        note = head + "active by your choice" + (f" (the fine-tune had kept it inactive: "
                                                 f"{why})" if why else "")
    if note:
        text += f"; {note.strip('; ')}"
    if verdict.get("activated") and isinstance(verdict.get("certainty"), dict):
        # (A run kept inactive has the same figures in its note already.)
        from segstudio.engine.certainty import Certainty

        with contextlib.suppress(KeyError, TypeError, ValueError):
            text += f"; {Certainty.from_dict(verdict['certainty']).describe()}"
    if record.get("recipe"):
        text += f"; trained {record['recipe']}"
    return text


def model_choices(project: Project) -> list[ModelChoice]:
    """Runs newest first, then the shipped model, then an external file that is active."""
    active = active_checkpoint(project)
    active_key = None if active is None else os.path.normcase(str(active.resolve()))
    out: list[ModelChoice] = []

    def is_active(path: Path) -> bool:
        return active_key is not None and os.path.normcase(str(path.resolve())) == active_key

    for rec in run_records(project):
        path = project.checkpoint_path(rec)
        status = record_status(rec)
        name = rec.get("name") or rec.get("arch", "?")
        created = str(rec.get("created", ""))[:19].replace("T", " ")
        flag = "" if status in ("finished", "imported") else f" [{status}]"
        miou = rec.get("miou", (rec.get("metrics") or {}).get("miou"))
        label = f"{name} · {created}{flag} · mIoU {_pct(miou)}"
        out.append(ModelChoice(
            path, label, "run", rec.get("arch"), status, miou, rec.get("start_miou"),
            rec.get("baseline_miou"), is_active(path), path.is_file(),
            describe_run(rec, is_active(path)), rec, resumable(project, rec)))
    shipped = shipped_checkpoint()
    if shipped is not None:
        out.append(ModelChoice(shipped, "ENet, CamVid road scenes (shipped)", "shipped", "enet",
                               active=is_active(shipped), note=header_note(shipped)))
    if active is not None and not any(c.active for c in out):
        out.append(ModelChoice(active, active.name, "file", active=True,
                               note=header_note(active)))
    return out


def header_note(path: Path) -> str:
    """What a checkpoint that is not a run says of itself, from its header: its network,
    classes and validation score when it was trained (the Model panel's note, so the
    shipped model's slot is not an empty gap). "" when the header cannot be read."""
    from segstudio.core.classes import ClassSet
    from segstudio.engine.checkpoint_header import read_meta_dict

    try:
        meta = read_meta_dict(path)
        classes = ClassSet.from_dict(meta["classes"])
    except (SegstudioError, KeyError, TypeError, ValueError):
        return ""
    from segstudio.models import UnknownModelError, model_info

    arch = str(meta.get("arch", "?"))
    with contextlib.suppress(UnknownModelError):
        arch = model_info(arch).title
    text = f"{arch} for {classes.num_classes} classes ({', '.join(classes.names)})"
    miou = (meta.get("metrics") or {}).get("miou") if isinstance(meta.get("metrics"), dict) \
        else None
    if isinstance(miou, int | float):
        text = f"val mIoU {_pct(float(miou))} when trained; " + text
    return text


def adopt_or_check_classes(project: Project, checkpoint_classes, checkpoint: Path,
                           adopt: Callable | None = None, save: bool = True) -> bool:
    """Before predicting with a checkpoint: a project without any label whose classes are a
    placeholder takes its classes (True; saved, or with `save` False marked for the first
    label to save; `adopt(classes)` does the switch when given, e.g. the app's session, which
    also drops its void documents); otherwise its classes must match (CheckpointError
    saying what differs, and why the project's are kept)."""
    from segstudio.core.class_origin import mark_adopted, own_classes
    from segstudio.engine.checkpoint import CheckpointError, classes_mismatch

    problem = classes_mismatch(project.classes, checkpoint_classes)
    if problem is None:
        return False
    if _has_labels(project):
        raise CheckpointError(checkpoint, f"{problem}; pick a checkpoint trained on these "
                              "classes or fine-tune one")
    own = own_classes(project)
    if own is not None:
        # The user's classes: replacing them cannot be undone, and a model's names are
        # rarely what the user meant (issue 18: road/car/other became CamVid's 11).
        raise CheckpointError(checkpoint, f"{problem}; the project's classes are its own "
                              f"({own}) and are kept: fine-tune a model on them, or pick one "
                              "trained on these classes")
    classes = mark_adopted(checkpoint_classes, Path(checkpoint).name)
    if adopt is not None:
        adopt(classes)
    else:
        project.classes = classes
    if not save:
        project.classes_unsaved = True
    elif not project.read_only:
        project.save()
    return True


def _record_of(project: Project, path: str | Path) -> dict:
    from segstudio.core.errors import ProjectError

    rel = project.relative_path(path)
    rec = next((r for r in project.checkpoints if r.get("path") == rel), None)
    if rec is None:
        raise ProjectError(f"{path}: not a run of {project.root}")
    return rec


def run_folder(project: Project, path: str | Path) -> Path | None:
    """The folder a run's files live in (checkpoints/<run>/), or None for a checkpoint that
    is not in a run folder of this project (an imported file elsewhere: never deleted)."""
    folder = Path(path).expanduser().resolve().parent
    return folder if folder.parent == project.checkpoints_dir.resolve() else None


def delete_run(project: Project, path: str | Path) -> Path | None:
    """Forget a run and delete its folder (best, last and training state); returns the folder
    deleted (None when only the record went: a checkpoint outside the project's run folders).

    Refused (ProjectError, nothing changed) for the active model and for a run that is still
    training. The record goes first, so a folder that cannot be fully removed is an orphan
    the app ignores, never a run pointing at missing weights."""
    import shutil

    from segstudio.core.errors import ProjectError

    rec = _record_of(project, path)
    target = project.checkpoint_path(rec)
    active = active_checkpoint(project)
    if active is not None and active.resolve() == target.resolve():
        raise ProjectError(f"{rec.get('name') or target}: the active model cannot be deleted; "
                           "make another model active first")
    if record_status(rec) == "running":
        raise ProjectError(f"{rec.get('name') or target}: still training; cancel it first")
    folder = run_folder(project, target)
    # run_folder judges by real paths: through a checkpoints/ link out of the project it would
    # delete a folder elsewhere. Refused, nothing changed.
    if folder is not None and (link := project.checkpoints_problem()) is not None:
        raise ProjectError(f"{link}; the run was not deleted")
    forget_run(project, rec)
    if folder is None:
        return None
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        raise ProjectError(f"{folder}: run forgotten, but its folder could not be removed "
                           f"({exc.strerror or exc})") from None
    return folder


def start_run(project: Project, path: str | Path, arch: str, **fields) -> dict:
    """Record a run that is starting (its weights at `path` to come); returns the record."""
    return project.register_checkpoint(path, arch, {}, **fields)


def update_run(project: Project, record: dict, fields: dict) -> dict:
    """A run's record with `fields` changed (and its training process's pid gone), saved;
    returns the record as stored."""
    rec = {k: v for k, v in record.items() if k != "pid"} | fields
    project.register_checkpoint(project.checkpoint_path(rec), rec["arch"],
                                rec.get("metrics") or {},
                                **{k: v for k, v in rec.items()
                                   if k not in ("path", "arch", "metrics")})
    return next(c for c in project.checkpoints if c.get("path") == rec["path"])


def forget_run(project: Project, record: dict) -> None:
    """Drop a run's record (its files stay: the caller removes them), saved."""
    project.checkpoints[:] = [c for c in project.checkpoints
                              if c.get("path") != record["path"]]
    project.save()


def rename_run(project: Project, path: str | Path, name: str) -> dict:
    """Give a run another display name (in segstudio.json); returns the updated record."""
    from segstudio.core.errors import ProjectError

    name = " ".join(str(name).split())
    if not name:
        raise ProjectError("a run needs a name")
    rec = _record_of(project, path)
    new = {**rec, "name": name}
    project.checkpoints[:] = [new if r is rec else r for r in project.checkpoints]
    project.save()
    return new
