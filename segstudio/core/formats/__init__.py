"""Labels in and out: Pascal VOC, CVAT "Segmentation mask 1.1", COCO, labelme / X-AnyLabeling
JSON and colour masks (numpy + Pillow + OpenCV only, like the rest of `segstudio.core`).

    export_labels(project_or_folder, fmt, out, *, include_all, split, force, images, polygons,
                  progress, cancel) -> ExportReport          # fmt in EXPORT_FORMATS
    import_labels(source, fmt, out, *, images, labels, link, overwrite_reviewed, class_map,
                  map_by_name, progress, cancel) -> ImportReport   # fmt in IMPORT_FORMATS

One module per format (voc, cvat, coco + rle, labelme, color); `common` holds what they share,
`exporting` / `importing` the project side. See docs/formats.md.
"""

from __future__ import annotations

from segstudio.core.formats.common import (
    ClassMismatchError,
    FormatError,
    TransferProgress,
    parse_split,
)
from segstudio.core.formats.exporting import EXPORT_FORMATS, ExportReport, export_labels
from segstudio.core.formats.importing import (
    IMPORT_FORMATS,
    ImportReport,
    import_labels,
    open_source,
)

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "ClassMismatchError",
    "ExportReport",
    "FormatError",
    "ImportReport",
    "TransferProgress",
    "export_labels",
    "import_labels",
    "open_source",
    "parse_split",
]
