"""segstudio.core.formats is part of the numpy-only core: no torch, no Qt."""

import subprocess
import sys


def test_format_modules_load_neither_torch_nor_qt() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "import segstudio.core.formats as f\n"
        "for m in pkgutil.iter_modules(f.__path__):\n"
        "    importlib.import_module('segstudio.core.formats.' + m.name)\n"
        "bad = [m for m in ('torch', 'torchvision', 'PySide6', 'pyqtgraph') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"segstudio.core.formats imported {out.stdout.strip()}"
