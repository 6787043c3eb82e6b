"""`segstudio train PROJECT` (no --out): the Fine-tune button, from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

# Options of the folder mode that a project's fine-tune does not take: its settings and its
# starting weights follow the app's rules.
_FOLDER_ONLY = {"epochs": "--epochs (use --steps)", "init": "--init", "val": "--val",
                "patience": "--patience", "backbone": "--backbone", "dice": "--dice",
                "workers": "--workers"}


def train_project(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError
    from segstudio.cli.common import TrainBar
    from segstudio.cli.options import set_threads
    from segstudio.core.project import Project
    from segstudio.core.settings_schema import check_settings, setting
    from segstudio.engine.workflow import (
        finetune_settings,
        resumable,
        run_finetune,
        run_records,
        starting_point,
    )
    from segstudio.engine.workflow.finetune import check_trainable
    from segstudio.engine.workflow.project_choices import (
        ArchitectureError,
        check_arch,
        project_arch,
    )

    given = [flag for name, flag in _FOLDER_ONLY.items() if getattr(args, name)]
    if given:
        raise UsageError(f"{given[0]} is for training into --out DIR; a project's fine-tune "
                         "takes --steps --size --batch --lr --weighting --no-edited --arch")
    project = Project.open(args.data)
    for line in project.settings_warnings:
        print(f"segstudio train: warning: {line}", file=sys.stderr)
    if project.read_only:
        raise UsageError(f"{project.root}: read-only folder; train with --out DIR instead")
    if (link := project.checkpoints_problem()) is not None:
        raise UsageError(link)   # the run's weights would be written where the link leads
    resume = None
    if args.resume:
        stopped = [r for r in run_records(project) if resumable(project, r)]
        if not stopped:
            raise UsageError(f"--resume: {project.root} has no cancelled or interrupted run "
                             "with a saved training state")
        resume = stopped[0]
    arch = args.arch or (resume or {}).get("arch") or project_arch(project)
    settings = finetune_settings(project, arch)
    overrides = {"steps": args.steps, "batch": args.batch, "lr": args.lr,
                 "weighting": args.weighting, "val_fraction": args.val_fraction}
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    if args.size is not None:
        settings = replace(settings, height=args.size[0], width=args.size[1])
    if args.no_edited:
        settings = replace(settings, train_edited=False)
    # Before anything is written (the settings are kept as the project's): argparse checked
    # each option already; this also covers a value of the file's and a newer field.
    try:
        check_arch(arch)
    except ArchitectureError as exc:
        raise UsageError(f"--arch {exc}" if args.arch else str(exc)) from None
    bad = check_settings(settings.to_dict())
    if bad:
        name, problem = bad[0]
        raise UsageError(f"{setting(name).option or name}: {problem}")
    if resume is None:
        check_trainable(project, settings)
        start = starting_point(project, arch)
        if start.missing_backbone and not args.json:
            print(f"note: {arch} starts {start.note} (get it: segstudio weights fetch "
                  f"{start.missing_backbone})", file=sys.stderr)
    else:
        start = None
    set_threads(args.threads)
    bar = TrainBar(quiet=args.json)
    try:
        outcome = run_finetune(project, arch, settings, progress=bar, resume=resume,
                               device=args.device, start=start)
    finally:
        bar.close()
    rec, result = outcome.record, outcome.result
    if args.json:
        print(json.dumps({"path": str(project.checkpoint_path(rec)), "arch": rec["arch"],
                          "status": rec.get("status"), "miou": rec.get("miou"),
                          "start_miou": rec.get("start_miou"),
                          "baseline_miou": rec.get("baseline_miou"),
                          "active": outcome.activated, "reason": outcome.reason,
                          "verdict": outcome.verdict.to_dict(),
                          "recipe": rec.get("recipe")}))
    else:
        print(f"{rec.get('name', arch)}: {result.status} after {result.epochs_done} epoch(s) "
              f"({result.seconds / 60:.1f} min), checkpoint {project.checkpoint_path(rec)}")
        print(outcome.reason)
    return 2 if result.diverged else 0
