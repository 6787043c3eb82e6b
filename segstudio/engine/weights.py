"""Pretrained weights: which files segstudio knows, whether they are here, and getting them.

A registry in the spirit of torchvision's WeightsEnum / torch.hub: the ImageNet encoders of the
FCN, SegNet, U-Net and LinkNet networks (torchvision's published files, cached where
torchvision and torch.hub cache them: `torch.hub.get_dir()/checkpoints`) and the models shipped
with segstudio. Files are fetched from torchvision's URL or from a mirror (`mirror=` or
$SEGSTUDIO_WEIGHTS_MIRROR: a base URL or folder holding the same file names), or imported from a
local file, and always verified against the SHA-256 prefix in their name before they are kept.

    from segstudio.engine import weights
    st = weights.backbone_entry("unet_resnet34")   # WeightsStatus of resnet34, or None (enet)
    if st is not None and not st.present:
        weights.fetch(st.name, progress=print)      # -> Path in the hub cache

No torch import (listing stays fast, and the GUI may call it on a click); no Qt.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from segstudio.engine.weights_transfer import (
    FetchCancelled,
    WeightsError,
    WeightsFileError,
    WeightsUnreachable,
    check_url,
    content_length,
    copy_verified,
    download_verified,
    mismatch,
    sha256_of,
)

__all__ = [
    "MIRROR_ENV",
    "FetchCancelled",
    "TransferProgress",
    "WeightsEntry",
    "WeightsError",
    "WeightsFileError",
    "WeightsStatus",
    "WeightsUnreachable",
    "backbone_entry",
    "cache_dir",
    "entries",
    "fetch",
    "format_size",
    "get_entry",
    "import_file",
    "list_weights",
    "registered",
    "remote_size",
    "source_url",
    "status",
    "verify",
]

MIRROR_ENV = "SEGSTUDIO_WEIGHTS_MIRROR"
IMAGENET, SHIPPED = "imagenet", "shipped"
ASSIST = "assist"      # an assisted tool's network (SAM): downloadable, verified by `digest`
# torch.hub's HASH_REGEX is r"-([a-f0-9]*)\."; we insist on at least 8 digits.
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")
_TORCHVISION = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class WeightsEntry:
    """One known weights file.

    `kind` "imagenet": a downloadable encoder (the SHA-256 prefix is in `file`, as torchvision
    names them), cached in the torch hub cache. "shipped": part of segstudio, at
    `resources/<resource...>`, never downloaded. "assist": an assisted tool's network (SAM),
    downloaded and cached like the encoders; its file name carries no SHA-256 (SAM's
    `_01ec64` is part of an MD5), so `digest` gives the whole SHA-256.
    """

    name: str
    file: str
    description: str
    archs: tuple[str, ...]
    url: str | None = None
    size: int | None = None          # bytes, when known without asking the server
    kind: str = IMAGENET
    resource: tuple[str, ...] = ()
    digest: str | None = None        # the whole SHA-256, for files whose name carries none

    def __post_init__(self) -> None:
        if self.kind != SHIPPED and (self.url is None or self.sha256 is None):
            raise ValueError(f"weights entry {self.name!r}: needs a url and a file name "
                             "carrying its SHA-256 prefix (name-<hex>.ext)")
        if self.kind == SHIPPED and not self.resource:
            raise ValueError(f"weights entry {self.name!r}: a shipped entry needs `resource`")

    @property
    def sha256(self) -> str | None:
        """The SHA-256 (`digest`), else the prefix carried by the file name (None for shipped
        files)."""
        if self.kind == SHIPPED:
            return None
        if self.digest:
            return self.digest.lower()
        m = _HASH_IN_NAME.search(self.file)
        return m.group(1) if m else None


BUILTIN: tuple[WeightsEntry, ...] = (
    WeightsEntry("vgg16", "vgg16-397923af.pth",
                 "ImageNet VGG-16: the encoder of FCN-32s/16s/8s",
                 ("fcn32s", "fcn16s", "fcn8s"), _TORCHVISION + "vgg16-397923af.pth",
                 553_433_881),
    WeightsEntry("vgg16_bn", "vgg16_bn-6c64b313.pth",
                 "ImageNet VGG-16 with batch norm: the encoder of SegNet",
                 ("segnet",), _TORCHVISION + "vgg16_bn-6c64b313.pth", 553_507_836),
    WeightsEntry("resnet18", "resnet18-f37072fd.pth",
                 "ImageNet ResNet-18: the encoder of LinkNet",
                 ("linknet",), _TORCHVISION + "resnet18-f37072fd.pth", 46_830_571),
    WeightsEntry("resnet34", "resnet34-b627a593.pth",
                 "ImageNet ResNet-34: the encoder of U-Net",
                 ("unet_resnet34",), _TORCHVISION + "resnet34-b627a593.pth", 87_319_819),
    WeightsEntry("enet_camvid", "enet_camvid.safetensors",
                 "ENet trained on CamVid road scenes: the default model and the start of "
                 "ENet fine-tunes", ("enet",), kind=SHIPPED,
                 resource=("models", "enet_camvid.safetensors")),
    # Meta's Segment Anything ViT-B (the SAM tool, docs/assist.md); the SHA-256 as several
    # independent download scripts and model registries publish it for this exact size.
    WeightsEntry("sam_vit_b", "sam_vit_b_01ec64.pth",
                 "Segment Anything ViT-B: the SAM tool (clicks become an object's mask)",
                 (), "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
                 375_042_383, kind=ASSIST,
                 digest="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"),
)

_registered: list[WeightsEntry] = []   # test / plug-in entries, newest last


@dataclass(frozen=True)
class WeightsStatus:
    """An entry and where it stands on this machine (`to_dict()` is the `--json` record)."""

    name: str
    file: str
    kind: str
    description: str
    archs: tuple[str, ...]
    url: str | None
    size: int | None
    present: bool
    path: Path

    @property
    def used_by(self) -> str:
        """What needs these weights, in words: the architectures, or the assisted tool."""
        if self.archs:
            return " ".join(self.archs)
        return "SAM tool" if self.kind == ASSIST else ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["archs"], d["path"] = list(self.archs), str(self.path)
        d["used_by"] = self.used_by
        return d


@dataclass(frozen=True)
class TransferProgress:
    """What `progress` receives during fetch / import_file: bytes done of total (None when
    the server does not say)."""

    name: str
    file: str
    done: int
    total: int | None
    source: str


def entries() -> list[WeightsEntry]:
    return [*BUILTIN, *_registered]


def get_entry(name: str) -> WeightsEntry:
    for entry in reversed(entries()):
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries())
    raise WeightsError(f"no weights named {name!r} (known: {known})")


@contextlib.contextmanager
def registered(*new: WeightsEntry) -> Iterator[None]:
    """Make `new` entries known inside the block (tests: files served on 127.0.0.1). They take
    precedence over built-in entries for `backbone_entry` of their archs."""
    taken = {e.name for e in entries()}
    clash = [e.name for e in new if e.name in taken]
    if clash:
        raise ValueError(f"weights entries already exist: {', '.join(clash)}")
    _registered.extend(new)
    try:
        yield
    finally:
        for entry in new:
            _registered.remove(entry)


def cache_dir() -> Path:
    """`torch.hub.get_dir()/checkpoints`, where torchvision looks for (and puts) its files.

    Without importing torch: the same rule as torch.hub ($TORCH_HOME, else
    $XDG_CACHE_HOME/torch, else ~/.cache/torch; then /hub). Once torch is loaded its own
    answer is used, which honours torch.hub.set_dir().
    """
    hub = getattr(sys.modules.get("torch"), "hub", None)
    get_dir = getattr(hub, "get_dir", None)
    if get_dir is not None:
        return Path(get_dir()) / "checkpoints"
    home = os.getenv("TORCH_HOME") or os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"),
                                                   "torch")
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


def _path(entry: WeightsEntry) -> Path:
    if entry.kind == SHIPPED:
        from segstudio.paths import RESOURCES

        return RESOURCES.joinpath(*entry.resource)
    return cache_dir() / entry.file


def status(name: str) -> WeightsStatus:
    entry = get_entry(name)
    path = _path(entry)
    present = path.is_file()
    size = entry.size
    if entry.kind == SHIPPED and present:
        size = path.stat().st_size
    return WeightsStatus(entry.name, entry.file, entry.kind, entry.description, entry.archs,
                         entry.url, size, present, path)


def list_weights() -> list[WeightsStatus]:
    """Every entry (built-in first), with its size, place and presence. Presence means the
    file is there under its name: `verify(name)` hashes it."""
    names = list(dict.fromkeys(e.name for e in entries()))
    return [status(name) for name in names]


def backbone_entry(arch: str) -> WeightsStatus | None:
    """The ImageNet encoder weights `arch` needs, with `present`; None for an architecture
    without one (enet starts from the shipped CamVid model). WeightsError for an unknown arch."""
    known = entries()
    for entry in reversed(known):
        if entry.kind == IMAGENET and arch in entry.archs:
            return status(entry.name)
    if any(arch in entry.archs for entry in known):
        return None
    archs = sorted({a for e in known for a in e.archs})
    raise WeightsError(f"unknown architecture {arch!r} (known: {', '.join(archs)})")


def _mirror_base(mirror: str | None) -> str | None:
    given = f"--mirror {mirror!r}"
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None   # set but empty: not set
        given = f"{MIRROR_ENV}={mirror!r}"
    if mirror is None:
        return None
    if not mirror.strip():
        # Falling back to the default host would send the request where the user said not to.
        raise WeightsError(f"{given}: an empty mirror; give a URL or folder, or leave it out "
                           "for the default")
    mirror = mirror.strip()
    if "://" not in mirror:
        folder = Path(mirror).expanduser()
        if not folder.is_dir():
            raise WeightsError(f"mirror {mirror!r}: not an http://, https:// or file:// URL, "
                               "nor a folder")
        return folder.resolve().as_uri()
    try:
        return check_url(mirror if mirror.endswith("/") else mirror + "/")
    except WeightsError:
        raise WeightsError(f"mirror {mirror!r}: not an http://, https:// or file:// URL, "
                           "nor a folder") from None


def source_url(name: str, mirror: str | None = None) -> str:
    """Where `fetch` gets `name`: `<mirror>/<file>` with a mirror (argument, else
    $SEGSTUDIO_WEIGHTS_MIRROR), else the published URL."""
    entry = _downloadable(name)
    base = _mirror_base(mirror)
    if base is None:
        return entry.url
    return base.rstrip("/") + "/" + urllib.parse.quote(entry.file)


def _downloadable(name: str) -> WeightsEntry:
    entry = get_entry(name)
    if entry.kind == SHIPPED:
        raise WeightsError(f"{name} is shipped with segstudio: there is nothing to download "
                           "or import (reinstall segstudio if it is missing)")
    return entry


def remote_size(name: str, mirror: str | None = None, timeout: float = 10.0) -> int | None:
    """Bytes the server announces for `name` (HTTP HEAD), None when it does not say. Network:
    call it off the GUI thread. WeightsFileError when the server cannot be reached or refuses."""
    entry = get_entry(name)
    if entry.kind == SHIPPED:
        return status(name).size
    return content_length(source_url(name, mirror), _path(entry), timeout)


def _progress_for(
    entry: WeightsEntry, source: str, progress: Callable[[TransferProgress], None] | None
) -> Callable[[int, int | None], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(
        TransferProgress(entry.name, entry.file, done, total, source)
    )


def fetch(
    name: str, mirror: str | None = None,
    progress: Callable[[TransferProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    deadline: float | None = None,
) -> Path:
    """Path of `name`'s file, downloading it into the hub cache first when it is absent.
    `deadline`: seconds for the whole download (default: weights_transfer.deadline_for).

    The download goes to a temporary name and is renamed only once complete and matching the
    SHA-256 prefix; any failure raises WeightsFileError (one line naming the file) and a
    cancel raises FetchCancelled, both leaving nothing in the cache.
    """
    entry = get_entry(name)
    path = _path(entry)
    if entry.kind == SHIPPED:
        if path.is_file():
            return path
        raise WeightsFileError(path, f"{name} is shipped with segstudio but missing from this "
                                     "install; reinstall segstudio")
    url = source_url(name, mirror)  # checks the mirror even when nothing is downloaded
    if path.is_file():
        return path
    return download_verified(url, path, entry.sha256, progress=_progress_for(entry, url, progress),
                             cancel=cancel, size=entry.size, deadline=deadline)


def import_file(
    name: str, path: str | Path, progress: Callable[[TransferProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Copy a local file into the hub cache as `name`'s file, when its content hash matches
    (for files fetched on another machine). Returns the cached path."""
    entry = _downloadable(name)
    src = Path(path).expanduser()
    return copy_verified(src, _path(entry), entry.sha256,
                         progress=_progress_for(entry, str(src), progress), cancel=cancel)


_verified: dict[Path, tuple[int, int]] = {}   # path -> (size, mtime_ns) already hashed


def verify(name: str, cancel: Callable[[], bool] | None = None) -> Path:
    """The present file of `name`, after checking its SHA-256 prefix (hashes once per process
    while the file is unchanged: ~0.3 s for resnet34, ~2 s for vgg16 on one core).
    WeightsFileError when it is missing or does not match."""
    entry = get_entry(name)
    path = _path(entry)
    try:
        stat = path.stat()
    except OSError:
        raise WeightsFileError(path, f"{name} weights are not here (segstudio weights fetch "
                                     f"{name})") from None
    if entry.sha256 is None or _verified.get(path) == (stat.st_size, stat.st_mtime_ns):
        return path
    problem = mismatch(sha256_of(path, cancel), entry.sha256)
    if problem:
        raise WeightsFileError(path, f"{problem}: corrupt; delete it and fetch {name} again")
    _verified[path] = (stat.st_size, stat.st_mtime_ns)
    return path


def format_size(size: int | None) -> str:
    """"87.3 MB" (SI units, like the download progress); "?" when unknown."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
