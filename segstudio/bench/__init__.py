"""Benchmarks behind `segstudio bench`.

Each module `segstudio/bench/<suite>.py` exposes:
  add_arguments(parser)      -- its own options (kept cheap to import: no torch/Qt at module level)
  run(args) -> dict          -- runs, prints a human table unless args.json, returns the figures

Every comparison in the returned dict carries a `ratio` (ours / baseline measured in the same run),
because this machine is shared and absolute timings are noisy.
"""
