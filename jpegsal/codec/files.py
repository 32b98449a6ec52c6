"""Writing encoded files: atomically to a path, or to a binary file object."""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any, BinaryIO

__all__ = ["check_not_input", "write_atomic", "write_to"]

# Read once at import: os.umask() can only be read by setting it, which is not
# thread-safe later on.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(data: bytes, path: str | os.PathLike[str], *, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to disk,
    then renamed into place. With ``overwrite=False`` an existing ``path`` is
    never replaced (``FileExistsError``), even if it appears while writing.
    """
    path = os.fspath(path)
    if os.path.isdir(path):  # else os.replace fails naming the temporary file
        raise IsADirectoryError(f"output {path!r} is a directory; name a file inside it")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".jpegsal-", suffix=".tmp", dir=directory)
    except OSError as e:  # name the target, not a temporary file the user never asked for
        raise type(e)(e.errno, f"cannot write {path!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _link_no_clobber(tmp: str, path: str) -> None:
    # link() fails if the target exists, so the existence check and the
    # publish are one atomic step.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f"output exists: {path!r} (use overwrite to replace it)") from None
    except OSError:  # file systems without hard links
        if os.path.exists(path):
            raise FileExistsError(
                f"output exists: {path!r} (use overwrite to replace it)"
            ) from None
        os.replace(tmp, path)


def write_to(data: bytes, fp: str | os.PathLike[str] | BinaryIO | Any) -> None:
    """Write encoded bytes to a path (atomically) or to a binary file object."""
    if isinstance(fp, (str, os.PathLike)):
        write_atomic(data, fp)
    elif hasattr(fp, "write"):
        if isinstance(fp, io.TextIOBase):
            raise TypeError("fp is open in text mode; open it with 'wb'")
        fp.write(data)
    else:
        raise TypeError(f"fp must be a path or a binary file object, got {type(fp).__name__}")


def check_not_input(image: object, fp: object, replace_input: bool) -> None:
    """Refuse (``ValueError``) to write ``fp`` when it is the input file ``image`` itself."""
    paths = (str, os.PathLike)
    if replace_input or not (isinstance(image, paths) and isinstance(fp, paths)):
        return
    if os.path.exists(fp) and os.path.samefile(image, fp):
        raise ValueError(
            f"fp {os.fspath(fp)!r} is the input file; writing would replace the original "
            "(pass replace_input=True to do it anyway)"
        )
