import json
import os
import subprocess
import sys


def test_two_cpu_processes_with_gloo(sample_project, tmp_path):
    """The same training under torchrun: 2 processes, gloo, DistributedSampler, rank 0 writes."""
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "segstudio", "train", str(sample_project), "--arch", "enet", "--epochs", "1",
         "--size", "32x48", "--batch", "2", "--device", "cpu", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "best.json").read_text())
    assert meta["settings"]["world_size"] == 2
    summary = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    # Only rank 0 reports.
    assert len(summary) == 1 and summary[0]["best"].endswith("best.safetensors")
    assert sorted(p.name for p in out.iterdir()) == [
        "best.json", "best.safetensors", "last.json", "last.safetensors",
        "train_state.safetensors"]
