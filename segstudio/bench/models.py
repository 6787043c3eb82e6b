"""Benchmark suite 'models': placeholder until its issue lands."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> dict:
    from segstudio.cli import UsageError

    raise UsageError("benchmark 'models' not available yet")
