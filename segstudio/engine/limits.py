"""The ranges every command-line option and TrainConfig field must lie in, in one place, so
the CLI's argparse types (`cli.options`) and `engine.train_validate` agree. No torch here:
the parsers are built for every `segstudio --help`.

The bounds are far beyond useful values; they exist so that a typo cannot fork 10**6 data
workers, start 10**6 threads, overflow torch's 64-bit seed or allocate a tile of 10**10 pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

MIN_SIDE = 32             # the networks accept any H, W >= 32 (predict.MIN_SIDE)
MIN_TILE = 64             # prediction tiles: below this, the overlap leaves nothing
MAX_TILE = 8192           # logits of one tile: classes x 8192^2 x 4 bytes (2.9 GB at 11)
MAX_BATCH = 4096
MAX_THREADS = 1024
MAX_WORKERS = 256
MAX_EPOCHS = 1_000_000
MAX_SEED = 2**63 - 1      # leaves room for the per-epoch offsets below torch's 2**64


def output_folder_problem(path: Path) -> str | None:
    """Why segstudio cannot write into folder `path` (created if missing), or None."""
    from segstudio.core.atomic import is_writable

    for folder in (path, *path.parents):
        try:
            os.stat(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue  # made when writing; a file above it is found further up
        except OSError as exc:
            return f"cannot use {folder} ({exc.strerror or exc})"
        if not os.path.isdir(folder):
            return ("is a file, not a folder" if folder == path
                    else f"cannot create it inside {folder}, which is a file")
        if not is_writable(folder):
            return ("read-only folder; segstudio cannot write here" if folder == path
                    else f"cannot create it: {folder} is read-only")
        return None
    return "no existing folder above it"
