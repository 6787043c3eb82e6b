"""`segstudio gui FOLDER` refuses a path that is not a folder with one line and exit 2."""

from __future__ import annotations

from segstudio.cli import main


def test_gui_with_missing_folder_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["gui", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"segstudio gui: error: {missing}: not a folder"
