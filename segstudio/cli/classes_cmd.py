"""`segstudio classes PROJECT`: a project's classes; delete one, or merge one into another.

Without options it lists the classes (index, name, colour) and whose they are (the user's, or
a placeholder a model may replace: see core.class_origin). `--delete NAME` makes the class's
pixels void (the eraser's value) and moves the classes after it down by one; `--merge A B`
paints A's pixels as B and then deletes A. Both rewrite every label file of the project to
match; models trained on the old classes no longer fit (fine-tune one). `--undo` puts back the
classes and the label files of the last delete or merge (its originals are kept in hidden
`.ssundo-*` files beside the labels), as long as no label file was written, added or removed
since; otherwise it refuses, naming the file. A class change that a crash interrupted is
finished first.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classes", help="list a project's classes; delete or merge classes",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", type=Path, help="project folder")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--delete", metavar="NAME",
                      help="delete class NAME: its pixels become void (name or index)")
    what.add_argument("--merge", nargs=2, metavar=("A", "B"),
                      help="merge class A into class B: A's pixels become B, then A goes")
    what.add_argument("--undo", action="store_true",
                      help="undo the last delete or merge: its classes and label files come "
                      "back (refused if a label changed since)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.cli import UsageError
    from segstudio.core import class_remap
    from segstudio.core.class_origin import own_classes
    from segstudio.core.project import Project

    project = Project.open(args.project)
    if args.undo:
        if project.read_only:
            raise UsageError(f"{project.root}: read-only folder; classes cannot change here")
        what = class_remap.undo_last_remap(project)
        print(f"undone: {what}; classes now {', '.join(project.classes.names)}")
        return 0
    if args.delete is None and args.merge is None:
        if project.settings.get(class_remap.PENDING_KEY) and not project.read_only:
            class_remap.finish_pending_remap(project)
        c = project.classes
        for i, (name, color) in enumerate(zip(c.names, c.colors, strict=True)):
            print(f"{i:3d}  {name}  #{color[0]:02x}{color[1]:02x}{color[2]:02x}")
        print(f"{c.ignore_index:3d}  {c.ignore_name} (void)")
        own = own_classes(project)
        print(f"the project's own classes ({own})" if own else
              "placeholder classes: a model's classes may replace them until you label")
        return 0
    if project.read_only:
        raise UsageError(f"{project.root}: read-only folder; classes cannot change here")
    class_remap.finish_pending_remap(project)
    plan = (class_remap.plan_delete(project, args.delete) if args.delete is not None
            else class_remap.plan_merge(project, *args.merge))
    rewritten = class_remap.apply_remap(project, plan)
    print(f"{plan.what}: {rewritten} of {len(plan.files)} label file(s) rewritten; classes now "
          f"{', '.join(project.classes.names)} (segstudio classes --undo takes it back)")
    return 0
