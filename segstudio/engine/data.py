"""Training data: a project's reviewed images or an images/ + labels/ folder, split and cached."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from segstudio.core.classes import ClassSet
from segstudio.core.errors import PathError, ProjectError
from segstudio.engine.augment import to_tv
from segstudio.engine.losses import ClassStats

# Validation images a split holds at least, where half the reviewed images still train.
MIN_VAL_IMAGES = 3


class DatasetError(PathError):
    """Training data that cannot be used: empty, wrong layout, no classes."""


@dataclass(frozen=True)
class Sample:
    key: str        # identity: path of the image relative to the images root (posix)
    image: Path
    label: Path
    # An EDITED image: only these pixels (a 1-bit PNG, see core.touched) are ground truth;
    # the rest of its label is a prediction and is ignored by the loss.
    touched: Path | None = None


@dataclass
class DataSource:
    root: Path
    samples: list[Sample]
    classes: ClassSet
    kind: str        # "project" or "folder"
    warnings: list[str] = field(default_factory=list)   # folders the listing left out


def load_source(data: Any, classes: ClassSet | None = None, *,
                include_edited: bool = False) -> DataSource:
    """The reviewed images of a project (a Project, or any folder opened as one), and with
    `include_edited` its EDITED images too, of which only the touched pixels count.

    A folder with images/ and labels/ (CamVid's layout) opens as a project whose existing
    label files count as reviewed, with classes.json from the folder or its parent.
    `classes` overrides the project's class set.
    """
    from segstudio.core.project import ImageState, Project

    project = data if isinstance(data, Project) else Project.open(data)
    if not project.entries:
        raise DatasetError(project.images_dir, "empty dataset: no images found")
    samples = []
    for e in project.entries:
        state = project.state(e)
        if state is ImageState.REVIEWED:
            samples.append(Sample(e.key, e.path, project.label_path(e)))
        elif include_edited and state is ImageState.EDITED \
                and project.touched_path(e).is_file():
            samples.append(Sample(e.key, e.path, project.label_path(e), project.touched_path(e)))
    if not samples:
        nor = " nor edited ones" if include_edited else ""
        raise ProjectError(f"{project.root}: no reviewed images{nor} (no label files, or none "
                           "marked reviewed): label some and mark them reviewed first")
    kind = "project" if project.project_file.is_file() else "folder"
    # The override is ours only: a live Project (the GUI's) is never modified.
    return DataSource(project.root, samples, classes or project.classes, kind,
                      project.listing_warnings)


def split_samples(samples: list[Sample], val_fraction: float) -> tuple[list[Sample], list[Sample]]:
    """Deterministic split by a hash of each key: adding images never moves old ones across.

    At least one image goes to each side when there are two or more; with one image it is
    used for both (metrics then measure fit, which the caller reports). A fraction of 0
    means no validation.
    """
    partial = [s for s in samples if s.touched is not None]
    samples = [s for s in samples if s.touched is None]
    # Partly labelled (EDITED) images only ever train: metrics over the few pixels a person
    # touched would not be comparable between runs.
    if not samples:
        return partial, []
    if len(samples) < 2:
        return list(samples) + partial, list(samples)
    if val_fraction <= 0:
        return list(samples) + partial, []
    score = {s.key: zlib.crc32(s.key.encode("utf-8")) / 2**32 for s in samples}
    ordered = sorted(samples, key=lambda s: (score[s.key], s.key))
    # The share by hash (adding images never moves old ones across), but at least
    # MIN_VAL_IMAGES while half the images still train: a verdict on one image of six is a
    # coin toss. The extra ones are the next by hash, so the split stays deterministic.
    by_share = sum(1 for s in samples if score[s.key] < val_fraction)
    want = max(1, by_share, min(MIN_VAL_IMAGES, len(samples) // 2))
    val = ordered[:min(want, len(samples) - 1)]
    keys = {s.key for s in val}
    return [s for s in samples if s.key not in keys] + partial, val


def _fit(image: np.ndarray, label: np.ndarray, max_hw: tuple[int, int] | None):
    """Downscale a pair that is larger than needed (keeps aspect); labels by nearest."""
    if max_hw is None:
        return image, label
    h, w = label.shape
    r = min(max_hw[0] / h, max_hw[1] / w)
    if r >= 1:
        return image, label
    size = (max(1, round(w * r)), max(1, round(h * r)))
    return (cv2.resize(image, size, interpolation=cv2.INTER_AREA),
            cv2.resize(label, size, interpolation=cv2.INTER_NEAREST))


def read_pair(sample: Sample, classes: ClassSet,
              max_hw: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decoded image and validated label (indices in the class set, same size as the image)."""
    from segstudio.core.imageio import read_image
    from segstudio.core.labels import read_label

    image = read_image(sample.image)
    label = read_label(sample.label, classes, expected_shape=image.shape[:2])
    if sample.touched is not None:
        label = only_touched(sample, label, classes)
    image, label = _fit(image, label, max_hw)
    # Decoders may hand back read-only buffers; torch tensors over them must be writable.
    return (image if image.flags.writeable else image.copy(),
            label if label.flags.writeable else label.copy())


def only_touched(sample: Sample, label: np.ndarray, classes: ClassSet) -> np.ndarray:
    """The label with every pixel a person did not touch set to void (ignored by the loss)."""
    from segstudio.core.touched import read_touched

    touched = read_touched(sample.touched, label.shape)
    if touched is None:
        return np.full_like(label, classes.ignore_index)
    return np.where(touched, label, np.uint8(classes.ignore_index)).astype(np.uint8)


class SegDataset(Dataset):
    """(uint8 image (3, H, W), uint8 label (H, W)) after `transform`.

    With `cache`, every pair is decoded once (on threads) and kept, pre-shrunk to `max_hw`;
    forked DataLoader workers then share the decoded arrays copy-on-write.
    """

    def __init__(self, samples: list[Sample], classes: ClassSet, transform: Callable | None,
                 *, cache: bool = True, max_hw: tuple[int, int] | None = None,
                 threads: int = 2) -> None:
        self.samples = samples
        self.classes = classes
        self.transform = transform
        self.max_hw = max_hw
        self.pairs: list[tuple[np.ndarray, np.ndarray]] | None = None
        if cache:
            with ThreadPoolExecutor(max(1, threads)) as pool:
                self.pairs = list(pool.map(self._read, samples))

    def _read(self, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        return read_pair(sample, self.classes, self.max_hw)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = self.pairs[i] if self.pairs is not None else self._read(self.samples[i])
        img, mask = to_tv(image, label)
        if self.transform is not None:
            img, mask = self.transform(img, mask)
        return img.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)

    def labels(self) -> Iterator[np.ndarray]:
        """Every label map (validated against the classes and the image size)."""
        from segstudio.core.imageio import image_size
        from segstudio.core.labels import read_label

        for i, sample in enumerate(self.samples):
            if self.pairs is not None:
                yield self.pairs[i][1]
                continue
            label = read_label(sample.label, self.classes, image_size(sample.image))
            yield label if sample.touched is None else only_touched(sample, label, self.classes)


def class_stats(dataset: SegDataset) -> ClassStats:
    return ClassStats.from_labels(dataset.labels(), dataset.classes.num_classes,
                                  dataset.classes.ignore_index)


def image_sizes(samples: list[Sample]) -> list[tuple[int, int]]:
    """(H, W) of each image from its header (no decoding)."""
    from segstudio.core.imageio import image_size

    return [tuple(image_size(s.image)) for s in samples]


def cache_bytes(samples: list[Sample], max_hw: tuple[int, int] | None) -> int:
    """Estimated memory of caching `samples` (from image headers, no decoding)."""
    total = 0
    for h, w in image_sizes(samples):
        if max_hw is not None:
            r = min(1.0, max_hw[0] / h, max_hw[1] / w)
            h, w = round(h * r), round(w * r)
        total += h * w * 4
    return total
