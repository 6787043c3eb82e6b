"""Dependencies point one way: ui -> engine -> models, everything may use core; ui -> assist ->
core (the weight-free assisted tools: numpy + OpenCV, no Qt, no torch); the promptable
segmenter's modules, assist/sam*.py, may also use torch and engine (its weights come through
engine.weights): ui -> assist -> engine -> models. cli/ and bench/ sit on top. Every import in
every module (lazy ones inside functions included) is checked."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "segstudio"
QT = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")
TORCH = ("torch", "torchvision")

# layer -> the imports it must never make (prefixes)
FORBIDDEN = {
    "core": (*QT, *TORCH, "segstudio.models", "segstudio.engine", "segstudio.ui",
             "segstudio.assist", "segstudio.cli", "segstudio.bench"),
    "models": (*QT, "segstudio.engine", "segstudio.ui", "segstudio.cli", "segstudio.bench"),
    "engine": (*QT, "segstudio.ui", "segstudio.cli", "segstudio.bench"),
    "assist": (*QT, *TORCH, "segstudio.models", "segstudio.engine", "segstudio.ui",
               "segstudio.cli", "segstudio.bench"),
    "ui": ("segstudio.models", "segstudio.cli", "segstudio.bench"),
}


# modules (by name prefix, inside their layer) allowed some of the layer's forbidden imports
ALLOWED = {("assist", "sam"): (*TORCH, "segstudio.engine")}


def _forbidden(layer: str, path: Path) -> tuple[str, ...]:
    allowed = next((v for (lay, stem), v in ALLOWED.items()
                    if lay == layer and path.stem.startswith(stem)), ())
    return tuple(p for p in FORBIDDEN[layer] if p not in allowed)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:   # relative: resolve against the module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            out += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return out


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_boundaries(layer: str) -> None:
    bad = []
    for path in _modules(layer):
        for line, name in _imports(path):
            for prefix in _forbidden(layer, path):
                if name == prefix or name.startswith(prefix + "."):
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert not bad, "\n".join(bad)


def test_only_the_sam_modules_of_assist_may_use_torch() -> None:
    assert "torch" in _forbidden("assist", PACKAGE / "assist" / "grabcut.py")
    assert "torch" not in _forbidden("assist", PACKAGE / "assist" / "sam_session.py")
    assert "segstudio.models" in _forbidden("assist", PACKAGE / "assist" / "sam.py")


def test_every_layer_has_modules() -> None:
    for layer in FORBIDDEN:
        assert _modules(layer), layer


def test_the_checker_sees_lazy_and_relative_imports(tmp_path) -> None:
    probe = PACKAGE / "ui" / "_layer_probe.py"
    probe.write_text("def f():\n    from segstudio.models import build_model\n"
                     "from .docks import files\n")
    try:
        names = [n for _, n in _imports(probe)]
    finally:
        probe.unlink()
    assert "segstudio.models" in names and "segstudio.ui.docks" in names
