"""Issue 18's hostile import corpus through the API: each class of bad input is one line naming
the file and the item (the whole import refused, or that item skipped while the good ones
import), nothing is written outside the project, in bounded time and memory."""

from __future__ import annotations

import time

import numpy as np
import pytest

from segstudio.core.errors import SegstudioError
from segstudio.core.formats import export_labels, import_labels
from segstudio.core.formats.guards import MAX_JSON_BYTES
from segstudio.core.project import ImageState, Project
from tests.hostile import probe
from tests.hostile_imports import CASES, H, W, coco, labelme

BOUND_S = 10.0   # each case on a busy 2-core machine; refusals take milliseconds


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_import_is_one_line_naming_the_file_and_item(tmp_path, name):
    case = CASES[name](tmp_path)
    out = tmp_path / "project"
    t0 = time.perf_counter()
    if case.fatal:
        with pytest.raises(SegstudioError) as exc:
            import_labels(case.source, case.fmt, out, images=case.images)
        line = str(exc.value)
    else:
        report = import_labels(case.source, case.fmt, out, images=case.images)
        assert len(report.problems) == 1, report.problems
        line = report.problems[0]
        assert report.imported == case.imported
        project = Project.open(out)
        reviewed = [e.key for e in project.entries if project.state(e) is ImageState.REVIEWED]
        assert len(reviewed) == case.imported   # the bad item is never written as reviewed
    assert time.perf_counter() - t0 < BOUND_S
    assert "\n" not in line and len(line) < 500, line
    for part in case.expect:
        assert part in line, (part, line)
    if case.outside is not None:
        assert list(case.outside.rglob("*")) == []


# Peak memory above the state after imports, in a child process (tests.hostile.probe): each of
# these took gigabytes before.
@pytest.mark.parametrize("name", ["rle_huge_string", "zip_mask_bomb", "zip_palette_bomb",
                                  "labelme_bomb", "zip_fat_image", "zip_mask_size_lie",
                                  "zip_image_size_lie", "folder_palette_bomb",
                                  "labelme_mask_bomb"])
def test_bombs_stay_in_bounded_memory(tmp_path, name):
    case = CASES[name](tmp_path)
    setup = "from segstudio.core.formats import import_labels"
    got = probe(f"import_labels({str(case.source)!r}, {case.fmt!r}, "
                f"{str(tmp_path / 'project')!r})", setup=setup)
    assert got["error"] is None, got
    # the 50 MB string itself is parsed (50 MB, and its ASCII copy): nothing is decoded from it
    assert got["extra_mb"] < 250, got


def test_a_member_read_stops_at_the_limit_whatever_its_header_says(tmp_path):
    """read_member's own bound on what is read, not zipfile's: a member stream that yields
    more than its header declared (as a zip library that trusted the data would) is cut at
    limit + 1 bytes and refused; the bytes past it are never requested."""
    import io
    import zipfile

    from segstudio.core.formats.guards import read_member

    requested = []

    class Endless(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            requested.append(n)
            return bytes(n if n >= 0 else 1 << 30)

    class LyingZip:
        def open(self, info):
            return Endless()

    info = zipfile.ZipInfo("task/SegmentationClass/lie.png")
    info.file_size = 100                                 # what the header claims
    with pytest.raises(SegstudioError, match="inflates past the limit of 1,000"):
        read_member(LyingZip(), info, tmp_path / "t.zip" / info.filename, limit=1000)
    assert requested == [1001]


def test_polygons_and_boxes_far_outside_are_clipped_not_allocated(tmp_path):
    # A triangle reaching 1e12 and a box of 1e7: before, terabytes of boundary samples.
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentation": [[-1e12, -1e12, 1e12, -1e12, 0, 1e12]]},
            {"id": 2, "image_id": 2, "category_id": 2, "iscrowd": 0,
             "segmentation": [[5, 5, 1e7, 1e7]]}]
    t0 = time.perf_counter()
    report = import_labels(coco(tmp_path, anns), "coco", tmp_path / "p")
    assert time.perf_counter() - t0 < BOUND_S
    assert report.imported == 2 and not report.problems
    project = Project.open(tmp_path / "p")
    a = project.read_label(project.entry("a.png"))
    b = project.read_label(project.entry("b.png"))
    assert (a == 0).all()                                   # the triangle covers the image
    assert (b[5:, 5:] == 1).all() and (b[:5] == 255).all()  # the box from (5, 5) on


def test_polygon_boundary_longer_than_any_regions_is_refused(tmp_path):
    zigzag = [v for i in range(4000) for v in (0 if i % 2 else W, i % H)]
    anns = [{"id": 3, "image_id": 1, "category_id": 1, "segmentation": [zigzag]}]
    report = import_labels(coco(tmp_path, anns), "coco", tmp_path / "p")
    assert report.imported == 1   # b.png (no annotations); a.png is refused
    assert any("annotation 3" in p and "polygon boundary" in p for p in report.problems)


def test_labelme_circle_of_radius_1e7_is_fast_and_full(tmp_path):
    shapes = [{"label": "road", "points": [[20, 16], [20, 1e7]], "shape_type": "circle"},
              {"label": "road", "points": [[1e12, 0], [1e12, 5]], "shape_type": "circle"},
              {"label": "road", "points": [[-1e12, -1e12], [1e12, 1e12]],
               "shape_type": "rectangle"}]
    t0 = time.perf_counter()
    report = import_labels(labelme(tmp_path, shapes), "labelme", tmp_path / "p")
    assert time.perf_counter() - t0 < BOUND_S     # 74 s before
    assert report.imported == 2 and not report.problems
    project = Project.open(tmp_path / "p")
    label = project.read_label(project.entry("x.png"))
    assert label.shape == (H, W) and (label == 0).all()


def test_json_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    from segstudio.core.formats import guards

    monkeypatch.setattr(guards, "MAX_JSON_BYTES", 1000)
    path = coco(tmp_path, [{"id": 1, "pad": "x" * 2000}])
    with pytest.raises(SegstudioError, match="over segstudio's limit of 1,000"):
        import_labels(path, "coco", tmp_path / "p")
    assert MAX_JSON_BYTES == 1 << 30


def test_export_force_never_writes_through_a_folder_link(tricky, tmp_path):
    out = tmp_path / "out"
    export_labels(tricky, "voc", out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"mine")
    import shutil

    shutil.rmtree(out / "SegmentationClass")
    (out / "SegmentationClass").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(SegstudioError) as exc:
        export_labels(tricky, "voc", out, force=True)
    line = str(exc.value)
    assert "\n" not in line and "SegmentationClass" in line and "folder link" in line
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.png"]
    assert (elsewhere / "keep.png").read_bytes() == b"mine"


def test_import_never_writes_through_a_folder_link_in_the_project(tmp_path):
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 9, 0, 9, 9]]}]
    src = coco(tmp_path, anns, images=[{"id": 1, "file_name": "sub/a.png", "height": H,
                                        "width": W}])
    (src.parent / "images" / "sub").mkdir()
    (src.parent / "images" / "a.png").rename(src.parent / "images" / "sub" / "a.png")
    out = tmp_path / "p"
    import_labels(coco(tmp_path / "first", []), "coco", out)   # a project with these classes
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "images" / "sub").symlink_to(elsewhere, target_is_directory=True)
    report = import_labels(src, "coco", out)
    assert report.imported == 0
    assert any("leads outside" in p and "sub" in p for p in report.problems), report.problems
    assert list(elsewhere.iterdir()) == []


def test_rle_decoding_matches_before_on_a_long_string(monkeypatch):
    """The chunked decoder against a mask whose string spans several chunks."""
    from pycocotools import mask as cocomask

    from segstudio.core.formats import rle

    monkeypatch.setattr(rle, "CHUNK", 4099)
    rng = np.random.default_rng(3)
    mask = rng.random((700, 900)) < 0.5
    ref = cocomask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"]
    assert len(ref) > rle.CHUNK
    np.testing.assert_array_equal(rle.decode_string(ref, 700, 900), mask)
    np.testing.assert_array_equal(rle.from_string(ref), rle.encode(mask))
    poly = list(rng.uniform(-20, 920, 400))
    ref_poly = cocomask.decode(cocomask.merge(cocomask.frPyObjects([poly], 700, 900)))
    np.testing.assert_array_equal(rle.polygons_to_mask([poly], 700, 900), ref_poly.astype(bool))


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("as_zip", [False, True])
def test_export_to_a_destination_that_is_itself_a_link_is_refused(tricky, tmp_path, force,
                                                                  as_zip):
    elsewhere = tmp_path / ("elsewhere.zip" if as_zip else "elsewhere")
    if as_zip:
        elsewhere.write_bytes(b"mine")
    else:
        elsewhere.mkdir()
        (elsewhere / "keep.png").write_bytes(b"mine")
    out = tmp_path / ("out.zip" if as_zip else "out")
    out.symlink_to(elsewhere, target_is_directory=not as_zip)
    with pytest.raises(SegstudioError) as exc:
        export_labels(tricky, "voc", out, force=force)
    line = str(exc.value)
    assert "\n" not in line and str(out) in line and "is a link" in line
    assert str(elsewhere) in line           # says the real path to give instead
    if as_zip:
        assert elsewhere.read_bytes() == b"mine"
    else:
        assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.png"]
    assert out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([elsewhere.name, out.name,
                                                             "project"])


def test_export_force_replaces_a_file_link_not_the_file_it_leads_to(tricky, tmp_path):
    out = tmp_path / "out"
    export_labels(tricky, "voc", out)
    rel = next(p for p in (out / "SegmentationClass").rglob("*.png")).relative_to(out)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"mine")
    (out / rel).unlink()
    (out / rel).symlink_to(outside)
    export_labels(tricky, "voc", out, force=True)
    assert outside.read_bytes() == b"mine"                 # the link was replaced, not it
    assert not (out / rel).is_symlink() and (out / rel).stat().st_size > 4
