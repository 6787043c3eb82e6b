"""`segstudio segment PROJECT`: the project segmented in place, by the workflow's rules."""

from __future__ import annotations

import argparse
import sys
from collections import Counter


def segment_in_place(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from segstudio.cli import UsageError
    from segstudio.cli.common import load_predictor, segment_progress
    from segstudio.cli.options import set_threads
    from segstudio.core.problems import ProblemReport, report_all
    from segstudio.core.project import Project
    from segstudio.engine.distributed import env_info
    from segstudio.engine.workflow import (
        active_checkpoint,
        adopt_or_check_classes,
        plan_segmentation,
        segment_project,
    )
    from segstudio.engine.workflow.segment import shard

    project = Project.open(args.images[0])
    if not project.entries:
        raise UsageError(f"{project.images_dir}: no images to segment")
    if project.read_only:
        raise UsageError(f"{project.root}: read-only folder; segment it with --out DIR instead")
    if (link := project.link_problem()) is not None:
        raise UsageError(link)   # labels would be written where the link leads
    unknown = [k for k in args.replace_reviewed if k not in {e.key for e in project.entries}]
    if unknown:
        raise UsageError(f"--replace-reviewed {unknown[0]}: not an image of {project.root}")
    checkpoint = args.checkpoint or active_checkpoint(project)
    if checkpoint is None:
        raise UsageError(f"{project.root}: no active model fits this project's classes; give "
                         "--checkpoint or fine-tune one (segstudio train)")
    set_threads(args.threads)
    predictor, checkpoint = load_predictor(checkpoint, args.device, args.tile, args.scale)
    if adopt_or_check_classes(project, predictor.meta.classes, checkpoint):
        print(f"took the classes of {checkpoint.name}: {', '.join(project.classes.names)}")
    info = env_info()
    if info.main:
        # The whole plan, once; under torchrun each process then does its own share.
        whole = plan_segmentation(project, replace_reviewed=args.replace_reviewed)
        for line in whole.lines():
            print(line + (f" (shared by {info.world} processes)" if info.world > 1 else ""))
    plan = plan_segmentation(project, shard(project.entries, info.rank, info.world),
                             replace_reviewed=args.replace_reviewed)
    outcomes: Counter[str] = Counter()
    quiet = False
    for line in project.settings_warnings:
        print(f"segstudio segment: warning: {line}", file=sys.stderr)
    report_all(project.listing_warnings, lambda line: print(line, file=sys.stderr),
               prefix="segstudio segment: warning: ", what="folder warnings")
    failed = ProblemReport(lambda line: tqdm.write(line, file=sys.stderr), what="unreadable images",
                           prefix="segstudio segment: skipped ", name="segstudio-segment-skipped")
    with tqdm(total=len(plan.run), unit="img", dynamic_ncols=True,
              disable=None if info.main else True, leave=False) as bar:
        for result in segment_project(project, predictor, plan, batch=args.batch,
                                      progress=segment_progress(bar)):
            outcomes[result.status] += 1
            if result.status == "failed":
                failed.add(result.message)
    if not quiet:
        done = {"predicted": "new prediction", "merged": "re-predicted around your edits",
                "replaced": "reviewed, replaced as asked",
                "kept": "reviewed meanwhile by someone else: kept"}
        summary = ", ".join([f"{outcomes[k]} {v}" for k, v in done.items() if outcomes[k]]
                            + ([f"{outcomes['failed']} unreadable, skipped"]
                               if outcomes["failed"] else []))
        who = f"process {info.rank + 1}/{info.world}: " if info.world > 1 else ""
        print(f"{who}segmented {sum(outcomes.values()) - outcomes['failed']} of {len(plan.run)} "
              f"image(s) with {checkpoint.name}: {summary or 'nothing to do'}"
              + (f"; {len(plan.keep)} reviewed left alone" if plan.keep else ""))
    failed.finish()
    return 2 if failed.count else 0
