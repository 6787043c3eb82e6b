"""segstudio.core must stay numpy-only so the GUI model is testable without torch or Qt."""

import subprocess
import sys


def test_importing_core_loads_neither_torch_nor_qt() -> None:
    code = (
        "import sys, segstudio.core, pkgutil, importlib\n"
        "import segstudio.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('segstudio.core.' + m.name)\n"
        "bad = [m for m in ('torch', 'torchvision', 'PySide6', 'pyqtgraph') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"segstudio.core imported {out.stdout.strip()}"


def test_main_names_are_exported_lazily() -> None:
    code = (
        "import sys, segstudio.core as c\n"
        "assert 'segstudio.core.editing' not in sys.modules\n"
        "from segstudio.core import MaskDocument, Project, ClassSet, ImageState\n"
        "assert MaskDocument.__module__ == 'segstudio.core.editing'\n"
        "assert ImageState.REVIEWED == 'reviewed'\n"
        "assert sorted(c.__all__) == c.__all__ and all(getattr(c, n) for n in c.__all__)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
