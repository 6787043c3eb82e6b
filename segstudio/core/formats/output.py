"""Where an export goes: a folder (each file written atomically) or a zip (built in a hidden
temp file beside it and renamed into place only when complete). Either way an interrupted
export leaves no half-written file, and an existing, non-empty destination is refused unless
`force`."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path

from segstudio.core.atomic import TMP_SUFFIX, atomic_write_bytes, is_writable
from segstudio.core.errors import WriteError
from segstudio.core.formats.common import FormatError, plural


def _links_out(folder: Path) -> list[str]:
    """Folder links under `folder` whose target lies outside it (os.walk does not follow
    them): a --force export into them would replace files elsewhere."""
    root = folder.resolve()
    out = []
    for dirpath, dirs, _files in os.walk(folder):
        for name in dirs:
            p = Path(dirpath, name)
            if p.is_symlink() and not p.resolve().is_relative_to(root):
                out.append(p.relative_to(folder).as_posix())
    return out


def _existing_files(folder: Path) -> set[str]:
    out = set()
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            out.add(Path(dirpath, name).relative_to(folder).as_posix())
    return out


class ExportTarget:
    """Files of one export, by posix path relative to the destination."""

    def __init__(self, out: Path, *, as_zip: bool, force: bool) -> None:
        self.out = Path(out).expanduser().absolute()
        self.as_zip = as_zip
        self.written: list[str] = []
        self.before: set[str] = set()
        self._zip: zipfile.ZipFile | None = None
        self._tmp: Path | None = None
        if self.out.is_symlink():
            # The destination itself a link (to a folder or a file): refused rather than
            # followed, so --force never replaces files where a link leads; the real path
            # given instead is the person's explicit choice.
            real = os.path.realpath(self.out)
            raise FormatError(self.out, f"is a link (to {real}); an export never writes "
                              f"through a link: give {real} itself to export there")
        if as_zip:
            if self.out.is_dir():
                raise FormatError(self.out, "is a folder; give a .zip file name for the archive")
            if self.out.exists() and not force:
                raise FormatError(self.out, "exists; pass --force to replace it")
            folder = self.out.parent
        else:
            if self.out.exists() and not self.out.is_dir():
                raise FormatError(self.out, "exists and is not a folder")
            if self.out.is_dir():
                self.before = _existing_files(self.out)
                if self.before and not force:
                    raise FormatError(
                        self.out, f"is not empty ({plural(len(self.before), 'file')}); pass "
                        "--force to "
                        "write into it"
                    )
                links = _links_out(self.out)
                if links:
                    raise FormatError(self.out / links[0], "is a folder link leading outside "
                                      f"{self.out}; an export never writes through it (remove "
                                      "the link or export elsewhere)")
            folder = self.out
        if not is_writable(folder):
            raise FormatError(folder, "read-only folder; cannot export here")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise FormatError(folder, f"cannot create folder ({e.strerror or e})") from None
        if as_zip:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.out.name}.", suffix=TMP_SUFFIX,
                                       dir=folder)
            os.close(fd)
            self._tmp = Path(tmp)
            # Images are already compressed; PNG masks too. Storing them is several times
            # faster than deflating them again for a few percent of size.
            self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_STORED)

    def write(self, rel: str, data: bytes) -> None:
        if self._zip is not None:
            try:
                self._zip.writestr(rel, data)
            except OSError as e:
                raise WriteError(self.out, f"cannot write: {e.strerror or e}") from None
        else:
            path = self.out / rel
            self._inside(path.parent)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise WriteError(path.parent, f"cannot create folder ({e.strerror or e})") from None
            self._inside(path.parent)
            atomic_write_bytes(path, data)
        self.written.append(rel)

    def _inside(self, folder: Path) -> None:
        """Refuse a folder (or, before it exists, its nearest parent) that really lies outside
        the destination: a link made while the export runs is not written through either."""
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.resolve().is_relative_to(self.out.resolve()):
            raise FormatError(folder, f"leads outside {self.out} (a folder link?); not written")

    def copy(self, rel: str, src: Path) -> None:
        try:
            data = Path(src).read_bytes()
        except OSError as e:
            raise FormatError(src, f"cannot read image ({e.strerror or e})") from None
        self.write(rel, data)

    def finish(self) -> None:
        """Complete the export (for a zip: close it and move it into place)."""
        if self._zip is None or self._tmp is None:
            return
        try:
            self._zip.close()
            with open(self._tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(self._tmp, 0o666 & ~_umask())
            os.replace(self._tmp, self.out)
        except OSError as e:
            self.abort()
            raise WriteError(self.out, f"cannot write: {e.strerror or e}") from None
        self._tmp = None

    def abort(self) -> None:
        """Drop an unfinished zip (folder exports keep their complete files)."""
        if self._zip is not None:
            with contextlib.suppress(Exception):
                self._zip.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            self._tmp = None

    def leftovers(self) -> int:
        """Files that were in the folder before and are not part of this export."""
        return len(self.before - set(self.written))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
