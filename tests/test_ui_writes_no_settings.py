"""The window is a view: no ui module writes a project's `settings` or `checkpoints` itself.

Each of those has one home in Qt-free code that the command line calls too
(`engine.workflow`: the architecture and inference scale in `project_choices`, the active
model in `models`, the fine-tune settings in `finetune`; `core` for class changes). A ui
module that wrote `project.settings["arch"]` directly was how the window and the CLI came to
save different things (issue 19). Read access is fine; any write, mutating call, assignment
or deletion is reported with its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "segstudio" / "ui"
GUARDED = ("settings", "checkpoints")
MUTATORS = {"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
            "setdefault", "sort", "reverse", "__setitem__", "__delitem__"}
# ui modules allowed to write one of them anyway, with the reason; none today.
EXCEPTIONS: dict[str, str] = {}


def _guarded(node: ast.AST) -> str | None:
    """The guarded attribute `node` is (x.settings, x.checkpoints), or None. `self.settings`
    is a widget's own (the app's QSettings), never a project's: the window reaches a
    project through `session.project`/`project`."""
    if isinstance(node, ast.Attribute) and node.attr in GUARDED:
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return None
        return node.attr
    return None


def writes(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            name = _guarded(node.value)
            if name:
                found.append((node.lineno, f"{name}[...] written"))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            name = _guarded(node)
            if name:
                found.append((node.lineno, f"{name} assigned"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = _guarded(node.func.value)
            if name and node.func.attr in MUTATORS:
                found.append((node.lineno, f"{name}.{node.func.attr}()"))
    return found


def test_no_ui_module_writes_project_settings_or_checkpoints() -> None:
    bad = []
    for path in sorted(UI.rglob("*.py")):
        rel = path.relative_to(UI.parents[1]).as_posix()
        if rel in EXCEPTIONS:
            continue
        bad += [f"{rel}:{line}: {what}" for line, what in writes(path.read_text("utf-8"))]
    assert not bad, ("write these through engine.workflow (or core), not from the window:\n"
                     + "\n".join(bad))


def test_the_checker_sees_each_kind_of_write() -> None:
    source = ("p.settings['arch'] = 'enet'\n"
              "del project.settings['x']\n"
              "self.session.project.settings.update(a=1)\n"
              "project.checkpoints.append({})\n"
              "project.checkpoints[:] = []\n"
              "project.settings = {}\n"
              "x = project.settings.get('arch')\n"       # reads are fine
              "y = [r for r in project.checkpoints]\n"
              "self.settings = QSettings()\n")          # a widget's own
    assert [line for line, _ in writes(source)] == [1, 2, 3, 4, 5, 6]


# The run registry owns every change to a project's runs; core's Project stores them.
RUN_OWNERS = ("segstudio/engine/workflow/run_registry.py", "segstudio/core/project.py",
              "segstudio/core/project_store.py", "segstudio/core/project_file.py")


def run_record_changes(source: str) -> list[tuple[int, str]]:
    """Writes to `x.checkpoints` and calls of `register_checkpoint` in `source`."""
    found = [(line, what) for line, what in writes(source) if what.startswith("checkpoints")]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "register_checkpoint":
            found.append((node.lineno, "register_checkpoint()"))
    return found


def test_only_the_run_registry_changes_a_projects_runs() -> None:
    root = UI.parents[1]
    bad = []
    for path in sorted((root / "segstudio").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in RUN_OWNERS:
            continue
        bad += [f"{rel}:{line}: {what}"
                for line, what in run_record_changes(path.read_text("utf-8"))]
    assert not bad, ("change runs through engine.workflow.run_registry:\n" + "\n".join(bad))
    assert run_record_changes("p.register_checkpoint(x, 'enet', {})\n"
                              "p.checkpoints[:] = []\n") == [(2, "checkpoints[...] written"),
                                                            (1, "register_checkpoint()")]
