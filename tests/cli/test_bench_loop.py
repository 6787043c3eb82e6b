"""`segstudio bench loop`: the simulated person's costs are counted right (void excluded,
painting from scratch costs everything, a perfect model costs nothing, partial correction
only looks at the least confident pixels) and the command reports them per strategy."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from segstudio.bench.loop_sim import Loop, correct, least_confident, strategy
from segstudio.cli import main
from segstudio.core.classes import ClassSet
from segstudio.core.labels import write_label
from segstudio.core.project import ImageState, Project
from segstudio.core.sample import SAMPLE_CLASSES, SAMPLE_COLORS, render_scene

VOID = 255
H, W = 48, 64
CLASSES = ClassSet(list(SAMPLE_CLASSES), [tuple(c) for c in SAMPLE_COLORS], VOID)


def _pool(folder: Path, count: int, seed: int) -> dict[str, np.ndarray]:
    """images/ + labels/ + classes.json; every label has a void band (rows 0-3)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(count):
        rgb, label = render_scene(rng, (H, W))
        label[:4] = VOID
        name = f"img_{i:02d}.png"
        for sub in ("images", "labels"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(folder / "images" / name)
        write_label(folder / "labels" / name, label, CLASSES)
        truth[name] = label
    CLASSES.save(folder / "classes.json")
    return truth


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    return root / "pool", _pool(root / "pool", 6, 1), root / "val", _pool(root / "val", 2, 2)


def _blank_project(folder: Path, pool: Path) -> Project:
    """The pool's images without labels, as the benchmark's project holds them."""
    shutil.copytree(pool / "images", folder / "images")
    shutil.copy(pool / "classes.json", folder / "classes.json")
    p = Project.open(folder)
    set_none(p)
    return p


def set_none(p: Project) -> None:
    from segstudio.engine.workflow import set_active

    set_active(p, None)


def test_least_confident_takes_the_share_in_raster_order_on_ties() -> None:
    conf = np.array([[0.5, 0.1, 0.5], [0.9, 0.5, 0.2]], np.float32)
    got = least_confident(conf, 0.5)
    assert got.sum() == 3
    assert got.tolist() == [[True, True, False], [False, False, True]]
    assert least_confident(conf, 1.0).all()


def test_correct_counts_wrong_labelled_pixels(data, tmp_path) -> None:
    pool, truth, _, _ = data
    p = _blank_project(tmp_path / "p", pool)
    a, b, c = p.entries[:3]
    gt = {e.key: truth[e.key] for e in (a, b, c)}
    labelled = {k: int((v != VOID).sum()) for k, v in gt.items()}

    # No prediction: painted from scratch, every labelled pixel counts.
    cost = correct(p, a, gt[a.key], VOID, None, None)
    assert (cost.labelled, cost.corrected, cost.residual) == (labelled[a.key],) * 2 + (0,)
    assert p.state(a) is ImageState.REVIEWED
    np.testing.assert_array_equal(p.read_label(a), gt[a.key])

    # A prediction wrong in a known block (which also covers void rows): only the labelled
    # wrong pixels cost.
    shown = gt[b.key].copy()
    shown[shown == VOID] = 0
    shown[0:20, 0:30] = (shown[0:20, 0:30] + 1) % 4
    p.save_label(b, shown, state=ImageState.PREDICTED)
    wrong = (shown != gt[b.key]) & (gt[b.key] != VOID)
    cost = correct(p, b, gt[b.key], VOID, np.ones((H, W), np.float32), None)
    assert cost.corrected == int(wrong.sum()) == 16 * 30
    assert p.state(b) is ImageState.REVIEWED

    # Partial: the least confident 20% are looked at (the wrong block's right half), set to
    # the truth and saved as the touched pixels of an edited image; the rest stays wrong.
    shown_c = gt[c.key].copy()
    shown_c[shown_c == VOID] = 0
    shown_c[10:30, 0:40] = (shown_c[10:30, 0:40] + 1) % 4
    p.save_label(c, shown_c, state=ImageState.PREDICTED)
    conf = np.ones((H, W), np.float32)
    conf[:, 20:40] = 0.1 + np.arange(H)[:, None] / 1000     # 960 pixels, the least confident
    share = 0.2
    touched = least_confident(conf, share)
    assert touched.sum() == math.ceil(share * H * W) == 615
    wrong = (shown_c != gt[c.key]) & (gt[c.key] != VOID)
    cost = correct(p, c, gt[c.key], VOID, conf, share)
    assert cost.corrected == int((wrong & touched).sum()) > 0
    assert cost.residual == int((wrong & ~touched).sum()) > 0
    assert cost.corrected + cost.residual == int(wrong.sum())
    assert p.state(c) is ImageState.EDITED
    np.testing.assert_array_equal(p.touched(c), touched)
    saved = p.read_label(c)
    np.testing.assert_array_equal(saved[touched], gt[c.key][touched])
    np.testing.assert_array_equal(saved[~touched], shown_c[~touched])


class Oracle:
    """A perfect model: predicts each image's truth (found by its pixels), with a confidence
    that differs per image so that "Worst first" has an order to follow."""

    def __init__(self, project: Project, truth: dict[str, np.ndarray],
                 confidence: dict[str, float]) -> None:
        self.by_pixels = {}
        for e in project.entries:
            key = hashlib.sha1(project.read_image(e).tobytes()).hexdigest()
            self.by_pixels[key] = (truth[e.key], confidence[e.key])

    def one_forward(self, images) -> bool:
        return True      # every batch through start_batch: no tiles, no resizing

    def start_batch(self, images):
        out = []
        for im in images:
            label, conf = self.by_pixels[hashlib.sha1(im.tobytes()).hexdigest()]
            out.append((label.copy(), np.full(label.shape, conf, np.float32)))
        return lambda: out


def _oracle_loop(project: Project, truth, confidence, name: str, model: Path,
                 actions=None) -> Loop:
    from segstudio.engine.workflow import set_active

    def finetune(p: Project, first: bool):
        set_active(p, model)       # the perfect model becomes active after the first round
        return SimpleNamespace(activated=True)

    oracle = Oracle(project, truth, confidence)
    return Loop(project, strategy(name, 0.2), truth, CLASSES, finetune, lambda p: 1.0,
                predictor=lambda path: oracle, actions=actions)


def test_actions_of_a_perfect_model_are_the_first_rounds_painting(data, tmp_path) -> None:
    from segstudio.bench.loop_actions import KINDS, ActionCounter, report

    pool, truth, _, _ = data
    p = _blank_project(tmp_path / "p", pool)
    model = tmp_path / "oracle.safetensors"
    model.write_bytes(b"stands for a checkpoint")
    counter = ActionCounter(20)
    loop = _oracle_loop(p, truth, {e.key: 0.9 for e in p.entries}, "natural", model, counter)
    for _ in range(2):
        loop.run_round(2)
    got = report(loop.rounds)
    per = got["rounds"]
    # Round 1 has no model: correcting is painting; round 2 is shown the truth: nothing.
    assert per["correcting_manual"] == [per["scratch_manual"][0], 0]
    assert per["correcting_assisted"] == [per["scratch_assisted"][0], 0]
    assert all(v > 0 for v in per["scratch_manual"] + per["scratch_assisted"])
    assert {k: got[k] for k in KINDS} == {k: sum(per[k]) for k in KINDS}
    assert set(counter.scratch) == set(loop.done)
    assert loop.rounds[1].to_dict()["actions"]["correcting_objects"] == 0


@pytest.mark.parametrize("name", ["natural", "worst", "worst-partial"])
def test_a_perfect_model_costs_nothing_after_the_first_round(data, tmp_path, name) -> None:
    pool, truth, _, _ = data
    p = _blank_project(tmp_path / "p", pool)
    model = tmp_path / "oracle.safetensors"
    model.write_bytes(b"stands for a checkpoint")
    confidence = {e.key: 0.9 - 0.1 * i for i, e in enumerate(p.entries)}   # last is worst
    loop = _oracle_loop(p, truth, confidence, name, model)
    reports = [loop.run_round(2) for _ in range(3)]
    assert [r.to_dict()["correction_fraction"] for r in reports] == [1.0, 0.0, 0.0]
    labelled = sum(int((truth[k] != VOID).sum()) for k in loop.done)
    assert reports[-1].total.labelled == labelled
    assert reports[-1].to_dict()["ratio_so_far"] == pytest.approx(
        sum(int((truth[k] != VOID).sum()) for k in loop.done[:2]) / labelled)
    keys = [e.key for e in p.entries]
    if name == "natural":
        assert loop.done == keys
    else:   # round 1 has no model (the project's order), then the least confident first
        assert loop.done == keys[:2] + keys[5:1:-1]
    assert reports[1].predicted == (2 if name == "natural" else 4)
    # Partial: the least confident pixels were looked at (touched), though none was wrong.
    states = {p.state(e) for e in p.entries[2:]}
    assert states == {ImageState.EDITED if "partial" in name else ImageState.REVIEWED}


@pytest.mark.slow
def test_bench_loop_command_reports_every_strategy(data, tmp_path, capsys) -> None:
    pool, truth, val, _ = data
    plot = tmp_path / "curve.png"
    assert main(["bench", "loop", "--pool", str(pool), "--val", str(val), "--pool-size", "0",
                 "--rounds", "2", "--round", "2", "--steps", "2", "--scale", "1",
                 "--val-images", "0", "--json", "--plot", str(plot)]) == 0
    result = json.loads(capsys.readouterr().out)
    strategies = result["strategies"]
    assert set(strategies) == {"natural", "worst", "natural-partial", "worst-partial"}
    first_two = sum(int((truth[k] != VOID).sum()) for k in sorted(truth)[:2])
    for name, s in strategies.items():
        r1, r2 = s["rounds"]
        assert r1["correction_fraction"] == 1.0 and r1["pixels_labelled"] == first_two
        assert r1["images"] == 2 and r2["images"] == 4
        assert s["pixels_labelled"] == r1["pixels_labelled"] + r2["pixels_labelled"]
        assert s["ratio"] == pytest.approx(s["pixels_corrected"] / s["pixels_labelled"])
        assert 0 <= s["ratio"] <= 1 and r1["val_miou"] is not None
        if "partial" in name:   # at most the least confident 20% of two images
            assert r2["pixels_corrected"] <= 2 * math.ceil(0.2 * H * W)
        else:
            assert s["residual_fraction"] == 0
        a = s["actions"]     # four totals, per-round lists; round 1 painted either way
        assert all(len(a["rounds"][k]) == 2 for k in ("scratch_manual", "scratch_assisted",
                                                      "correcting_manual",
                                                      "correcting_assisted"))
        assert a["rounds"]["correcting_manual"][0] == a["rounds"]["scratch_manual"][0] > 0
        assert a["correcting_assisted"] == sum(a["rounds"]["correcting_assisted"])
    full = {n: s["ratio"] for n, s in strategies.items() if "partial" not in n}
    assert result["actions"] == strategies[result["best"]]["actions"]
    assert result["best"] == min(full, key=full.get)
    assert result["ratio"] == full[result["best"]]
    with Image.open(plot) as im:
        assert im.format == "PNG" and im.size == (720, 440)


@pytest.mark.parametrize("args, words", [
    (["--strategies", "natural,best"], "--strategies: unknown strategy 'best'"),
    (["--rounds", "4", "--round", "2"], "8 images, the pool has 6"),
    (["--partial", "0"], "--partial"),
])
def test_bench_loop_bad_options(data, capsys, args, words) -> None:
    pool, _, val, _ = data
    assert main(["bench", "loop", "--pool", str(pool), "--val", str(val), "--pool-size", "0",
                 "--scale", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_bench_loop_start_app_runs_on_classes_camvid_does_not_have(data, capsys) -> None:
    # The button's own start on a pool of other classes: the shipped 11-class ENet never
    # segments the project (its classes are the pool's own), its body starts the fine-tune
    # with a fresh head; used to stop with "values ... are not classes 0..1".
    pool, _, val, _ = data
    assert main(["bench", "loop", "--pool", str(pool), "--val", str(val), "--pool-size", "0",
                 "--rounds", "2", "--round", "2", "--steps", "2", "--scale", "1",
                 "--val-images", "0", "--strategies", "natural", "--start", "app",
                 "--merge", "thing:disc+box;stuff:*", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    r1, r2 = result["strategies"]["natural"]["rounds"]
    assert r1["correction_fraction"] == 1.0 and r2["val_miou"] is not None


def test_merged_classes_map_every_class_and_keep_void() -> None:
    from segstudio.bench.loop_classes import MergeError, merged_classes

    merged, lut = merged_classes("thing:disc+box;stuff:*", CLASSES)
    assert merged.names == ["thing", "stuff"] and merged.ignore_index == CLASSES.ignore_index
    assert [int(lut[i]) for i in range(4)] == [1, 1, 0, 0] and lut[VOID] == VOID
    for bad, words in (("thing:disc", "not placed"), ("thing:moon;x:*", "'moon'"),
                       ("nothing", "NEW:OLD")):
        with pytest.raises(MergeError, match=words):
            merged_classes(bad, CLASSES)
