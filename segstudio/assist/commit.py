"""How an assisted tool's successive masks of one object reach the document.

A box is refined click by click: each new mask must replace the previous one, not add to
it. `ObjectEdit` remembers what the pixels were before the object's first mask, so a pixel
the new mask leaves out gets its old class back. Each mask is one undo step, painted through
`MaskDocument.paint` (touched, protect honoured) like the brush and the polygon.
"""

from __future__ import annotations

import numpy as np

from segstudio.core.editing import MaskDocument

Box = tuple[int, int, int, int]


class ObjectEdit:
    def __init__(self, document: MaskDocument, value: int, window: Box) -> None:
        self.document = document
        self.value = int(value)
        self.window = window
        y0, x0, y1, x1 = window
        self._before = document.mask[y0:y1, x0:x1].copy()
        self._painted = np.zeros(self._before.shape, bool)   # pixels this object changed

    def show(self, mask: np.ndarray) -> Box | None:
        """Make `mask` (bool, window-sized) the object: one undo step; the changed box."""
        doc = self.document
        y0, x0, y1, x1 = self.window
        drop = self._painted & ~mask
        boxes = []
        doc.begin_stroke()
        try:
            if drop.any():
                # These pixels were changed by this object itself, so giving them back their
                # old class is not painting over a protected class: lift protect for it.
                protect, doc.protect = doc.protect, None
                try:
                    for v in np.unique(self._before[drop]).tolist():
                        boxes.append(doc.paint(self.window, drop & (self._before == v), v))
                finally:
                    doc.protect = protect
            boxes.append(doc.paint(self.window, mask, self.value))
        finally:
            doc.end_stroke()
        now = doc.mask[y0:y1, x0:x1]
        self._painted = (now == self.value) & (self._before != self.value)
        boxes = [b for b in boxes if b is not None]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))
