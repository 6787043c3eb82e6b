"""`segstudio runs PROJECT [--json]`: the project's fine-tune runs and which one is active.

Each run: its checkpoint, architecture, status (finished, cancelled, failed, diverged,
running, interrupted), its best validation mIoU, the figure of the model it was compared with
on the same images before training (`start_miou`: its own starting weights), its parent, and
whether it is the project's active model (the one `segment` uses).
`--activate PATH` makes a run (or any checkpoint file) the active model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list a project's fine-tune runs and the active model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", type=Path, help="project folder")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of objects with path, arch, status, miou, "
                   "start_miou, parent, active (and name, created, baseline_miou, note)")
    p.add_argument("--activate", type=Path, metavar="CKPT",
                   help="make this checkpoint the project's active model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError
    from segstudio.core.project import Project
    from segstudio.engine.workflow import active_checkpoint, model_choices, set_active
    from segstudio.engine.workflow.run_registry import describe_run, record_status

    project = Project.open(args.project)
    if args.activate is not None:
        from segstudio.engine.checkpoint import checkpoint_paths, read_checkpoint

        weights, _ = checkpoint_paths(args.activate)
        _, meta = read_checkpoint(weights)     # a one-line CheckpointError when unusable
        from segstudio.engine.workflow import adopt_or_check_classes

        adopt_or_check_classes(project, meta.classes, weights)
        if project.read_only:
            raise UsageError(f"{project.root}: read-only folder")
        set_active(project, weights)
        print(f"active model of {project.root}: {weights}")
        return 0
    active = active_checkpoint(project)
    rows = []
    for choice in model_choices(project):
        rec = choice.record or {}
        rows.append({
            "path": str(choice.path), "name": rec.get("name") or choice.label,
            "arch": choice.arch, "kind": choice.kind,
            "status": record_status(rec) if rec else "shipped" if choice.kind == "shipped"
            else "file",
            "miou": choice.miou, "start_miou": choice.start_miou,
            "baseline_miou": choice.baseline_miou, "parent": rec.get("parent"),
            "created": rec.get("created"), "active": choice.active,
            "usable": choice.usable, "note": describe_run(rec) if rec else "",
            "verdict": rec.get("verdict"), "recipe": rec.get("recipe"),
        })
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print(f"{project.root}: no runs yet and no shipped model")
        return 0
    for row in rows:
        mark = "*" if row["active"] else " "
        miou = "" if row["miou"] is None else f"{100 * row['miou']:5.1f}%"
        print(f"{mark} {row['name']:<16} {row['status']:<11} {miou:>7}  {row['path']}")
        if row["note"]:
            print(f"    {row['note']}")
    print("* active (what `segstudio segment` uses)" if active else
          "no active model: none fits this project's classes yet")
    return 0
