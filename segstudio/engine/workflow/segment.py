"""Re-segmenting a project: what happens to each image depends on its state.

- unlabeled and predicted images get the new prediction;
- edited images get it only outside the pixels a person touched (they stay EDITED);
- reviewed images are never changed, unless the user asked for that image explicitly.

`plan_segmentation` says so in counts before anything runs (the app's dialog, the CLI's summary);
`segment_project` does it through `Project.save_label`, whose checks run against the disk under
the project lock, so a plan made from a stale view still cannot overwrite a reviewed label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from segstudio.core.entries import ImageEntry, ImageState
from segstudio.core.errors import SegstudioError
from segstudio.core.project import Project

QUANT = 255  # confidence maps travel as uint8, 255 = certain


@dataclass
class SegmentPlan:
    predict: list[ImageEntry] = field(default_factory=list)   # unlabeled + predicted
    merge: list[ImageEntry] = field(default_factory=list)     # edited: outside touched pixels
    replace: list[ImageEntry] = field(default_factory=list)   # reviewed, asked for explicitly
    keep: list[ImageEntry] = field(default_factory=list)      # reviewed: left alone
    unlabeled: int = 0                                         # of `predict`

    order: dict[str, int] = field(default_factory=dict, repr=False)  # key -> project index

    @property
    def run(self) -> list[ImageEntry]:
        """The images the network runs on, in project order."""
        return sorted((*self.predict, *self.merge, *self.replace),
                      key=lambda e: self.order.get(e.key, 0))

    def lines(self) -> list[str]:
        """What will happen, one line per group with its count (for a dialog or the CLI)."""
        out = []
        predicted = len(self.predict) - self.unlabeled
        if self.predict:
            parts = [f"{n} {what}" for n, what in ((self.unlabeled, "unlabeled"),
                                                   (predicted, "predicted")) if n]
            out.append(f"{' and '.join(parts)} image(s) get the new prediction")
        if self.merge:
            out.append(f"{len(self.merge)} edited image(s) keep every pixel you painted; only "
                       "the rest is re-predicted")
        if self.replace:
            out.append(f"{len(self.replace)} reviewed image(s) you chose are replaced by the "
                       "prediction (undo in the app brings them back)")
        if self.keep:
            out.append(f"{len(self.keep)} reviewed image(s) are left as they are")
        return out


def plan_segmentation(project: Project, entries: Iterable[ImageEntry] | None = None, *,
                      replace_reviewed: Iterable[str] = (),
                      state_of: Callable[[ImageEntry], ImageState] | None = None
                      ) -> SegmentPlan:
    """The plan for `entries` (default: every image); `replace_reviewed`: keys of reviewed
    images the user explicitly asked to replace. `state_of` (default: the project's records)
    lets the app count strokes painted but not saved yet: an image edited a second ago is
    "edited" in the question the user answers, not "predicted" as on disk."""
    asked = set(replace_reviewed)
    plan = SegmentPlan()
    chosen = project.entries if entries is None else list(entries)
    plan.order = {e.key: i for i, e in enumerate(project.entries)}
    state_of = state_of or project.state
    for e in chosen:
        state = state_of(e)
        if state is ImageState.REVIEWED:
            (plan.replace if e.key in asked else plan.keep).append(e)
        elif state is ImageState.EDITED:
            plan.merge.append(e)
        else:
            plan.predict.append(e)
            plan.unlabeled += state is ImageState.UNLABELED
    return plan


@dataclass
class SegmentResult:
    """One image's outcome. status: predicted | merged | replaced | kept | failed, or
    deferred when a writer hands it to someone else (the app's open image)."""

    entry: ImageEntry
    status: str
    confidence: float | None = None            # mean confidence
    confidence_map: np.ndarray | None = None   # (H, W) uint8, 255 = certain
    labels: np.ndarray | None = None           # only for "deferred"
    message: str = ""
    # For "deferred": the user asked to replace this reviewed image (whoever applies the
    # prediction later needs it, and it must not be kept aside by the caller).
    overwrite_reviewed: bool = False


def quantize(confidence: np.ndarray | None) -> tuple[np.ndarray | None, float | None]:
    if confidence is None:
        return None, None
    return (np.clip(np.rint(confidence * QUANT), 0, QUANT).astype(np.uint8),
            float(confidence.mean()))


def save_prediction(project: Project, entry: ImageEntry, labels: np.ndarray,
                    confidence: np.ndarray | None, *,
                    overwrite_reviewed: bool = False) -> SegmentResult:
    """Write one prediction under the rules (see `Project.save_label`)."""
    conf_map, mean = quantize(confidence)
    before = project.state(entry)
    try:
        written = project.save_label(entry, labels, state=ImageState.PREDICTED,
                                     overwrite_reviewed=overwrite_reviewed, confidence=mean)
    except (SegstudioError, OSError) as exc:
        return SegmentResult(entry, "failed", message=str(exc))
    if not written:
        return SegmentResult(entry, "kept", mean, conf_map)
    after = project.state(entry)
    status = ("merged" if after is ImageState.EDITED
              else "replaced" if before is ImageState.REVIEWED else "predicted")
    return SegmentResult(entry, status, mean, conf_map)


Writer = Callable[[Project, ImageEntry, np.ndarray, "np.ndarray | None", bool], SegmentResult]


def _default_writer(project: Project, entry: ImageEntry, labels: np.ndarray,
                    confidence: np.ndarray | None, overwrite: bool) -> SegmentResult:
    return save_prediction(project, entry, labels, confidence, overwrite_reviewed=overwrite)


def segment_project(project: Project, predictor, plan: SegmentPlan, *,
                    writer: Writer | None = None, progress: Callable | None = None,
                    cancel: Callable[[], bool] | None = None,
                    batch: int = 1) -> Iterator[SegmentResult]:
    """Predict the plan's images and write each under the rules, yielding outcomes as they
    come. `writer(project, entry, labels, confidence, overwrite)` replaces the default write
    (the app routes its open image to the GUI thread); segstudio.json is written at most
    every few seconds meanwhile (`Project.batch`), each record durable before its label."""
    from segstudio.engine.predict import predict_paths

    write = writer or _default_writer
    entries = plan.run
    by_path = {e.path: e for e in entries}
    replace = {e.key for e in plan.replace}
    with project.batch():
        for res in predict_paths(predictor, [e.path for e in entries], progress=progress,
                                 cancel=cancel, batch=batch):
            entry = by_path[res.path]
            if res.error is not None:
                yield SegmentResult(entry, "failed", message=str(res.error))
                continue
            yield write(project, entry, res.labels, res.confidence, entry.key in replace)


NO_PREDICTION_RANK = 2.0   # above any confidence: images without a prediction come last
REVIEWED_RANK = 3.0        # after those: a reviewed image needs no review (however unsure
                           # its old prediction was, the least confident are reviewed first)


def queue_rank(project: Project, entry: ImageEntry,
               state_of: Callable[[ImageEntry], ImageState] | None = None) -> float:
    """An image's place in the "Worst first" review queue: its mean prediction confidence,
    least confident first; images without one after every predicted image; reviewed images
    last. `state_of` as in `plan_segmentation` (the app's states include unsaved marks)."""
    if (state_of or project.state)(entry) is ImageState.REVIEWED:
        return REVIEWED_RANK
    conf = project.confidence(entry)
    return NO_PREDICTION_RANK if conf is None else conf


def review_queue(project: Project, entries: Iterable[ImageEntry] | None = None, *,
                 worst_first: bool = False,
                 state_of: Callable[[ImageEntry], ImageState] | None = None
                 ) -> list[ImageEntry]:
    """`entries` (default: every image) in the order the Files list offers them: the
    project's order, or worst first (ties keep the project's order)."""
    chosen = project.entries if entries is None else list(entries)
    if not worst_first:
        return list(chosen)
    ranked = sorted(enumerate(chosen), key=lambda p: (queue_rank(project, p[1], state_of), p[0]))
    return [e for _, e in ranked]


def shard(entries: list[ImageEntry], rank: int, world: int) -> list[ImageEntry]:
    """This process's share of the images under torchrun (every world-th, from its rank)."""
    return entries[rank::world] if world > 1 else entries
