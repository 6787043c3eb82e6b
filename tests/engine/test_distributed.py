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


def test_segment_shares_a_project_between_processes(tmp_path):
    """torchrun segment PROJECT: each process takes its own share of the images, and their
    records merge into one segstudio.json (every image predicted once, none lost)."""
    import torch

    from segstudio.core.project import ImageState, Project
    from segstudio.core.sample import make_sample_project
    from segstudio.engine.checkpoint import CheckpointMeta, save_checkpoint
    from segstudio.models import build_model

    root = make_sample_project(tmp_path / "p", count=9, reviewed=2, size=(48, 64), seed=4)
    classes = Project.open(root).classes
    torch.manual_seed(0)
    model = build_model("enet", classes.num_classes)
    ckpt = save_checkpoint(model, tmp_path / "enet",
                           CheckpointMeta("enet", classes, model.info.mean, model.info.std))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "segstudio", "segment", str(root), "--checkpoint", str(ckpt), "--device", "cpu"],
        capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    project = Project.open(root)
    counts = project.counts()
    assert counts[ImageState.PREDICTED] == 7 and counts[ImageState.REVIEWED] == 2
    assert all(project.confidence(e) is not None for e in project.entries
               if project.state(e) is ImageState.PREDICTED)
    # Rank 0 prints the plan once (as it finds the project: the other process may have
    # started already); each process reports its own share.
    assert proc.stdout.count("get the new prediction (shared by 2 processes)") == 1
    assert "process 1/2: segmented" in proc.stdout and "process 2/2: segmented" in proc.stdout
