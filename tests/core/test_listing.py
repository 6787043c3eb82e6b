import itertools
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from segstudio.core.listing import natural_key, scan_files

prefix = st.text(string.ascii_letters + "_-", min_size=1, max_size=4)


@given(st.lists(st.tuples(prefix, st.integers(0, 10**6)), min_size=1, max_size=30, unique=True))
def test_natural_order_sorts_numbers_by_value(items) -> None:
    names = [f"{p}{n}.png" for p, n in items]
    got = sorted(names, key=natural_key)
    # Same prefix (ignoring case): the numbers ascend by value, not as text.
    for a, b in itertools.pairwise(got):
        pa, na = next((p, n) for p, n in items if f"{p}{n}.png" == a)
        pb, nb = next((p, n) for p, n in items if f"{p}{n}.png" == b)
        if pa.lower() == pb.lower():
            assert na <= nb


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "a/", "a/b/", "B/"]),
            st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6),
            st.sampled_from([".png", ".JPG", ".tiff", ".txt", ".webp", ".png.tmp"]),
        ),
        max_size=15,
    )
)
def test_scan_finds_exactly_the_images(tmp_path_factory, files) -> None:
    root = tmp_path_factory.mktemp("scan")
    expected = set()
    for folder, stem, suffix in files:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{stem}{suffix}").write_bytes(b"")
        if suffix.lower() in (".png", ".jpg", ".tiff", ".webp"):
            expected.add(f"{folder}{stem}{suffix}")
    (root / "skipme").mkdir()
    (root / "skipme" / "x.png").write_bytes(b"")
    got = scan_files(root, skip_dirs=[root / "skipme"])
    assert set(got) == expected and len(got) == len(expected)
    assert got == sorted(got, key=natural_key)


def test_symlinked_folders_are_followed_once(tmp_path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(b"")
    (tmp_path / "real" / "loop").symlink_to(tmp_path, target_is_directory=True)
    got = scan_files(tmp_path)
    assert got == ["real/a.png"]
