"""`segstudio models`: the architectures segstudio can build."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list the architectures", description=__doc__)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segstudio.models import list_models, model_info

    rows = [(name, model_info(name)) for name in list_models()]
    width = max(len(name) for name, _ in rows)
    for name, info in rows:
        print(f"{name:<{width}}  stride {info.output_stride:>2}  {info.title} ({info.paper})")
    return 0
