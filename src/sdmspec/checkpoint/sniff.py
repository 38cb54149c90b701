"""What a file is, from its first bytes: so a file that is not a checkpoint is named ("a YAML file", "a ZIP archive
that is not a torch checkpoint", "an empty file") instead of surfacing the unpickler's error code.

``torch.save`` writes a ZIP archive holding ``<name>/data.pkl`` (since torch 1.6), or, in the legacy format, a pickle
of protocol 2 (first byte 0x80). Anything else is not a torch checkpoint, whatever its suffix.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

_HEAD = 4096
# What zipfile raises on a damaged archive: a bad directory, a name flagged UTF-8 that is not (UnicodeDecodeError,
# a ValueError), a record cut short, a compression method it does not know.
ZIP_ERRORS = (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError)
# Sniffing text reads the whole file only when it is small; a large text file is named from its head.
_PARSE_LIMIT = 4 * 2**20
_MAGIC = (
    (b"\x1f\x8b", "a gzip file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"GGUF", "a GGUF file"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "an executable (ELF)"),
)


def is_torch_zip(path: Path) -> bool:
    """A ZIP archive with a ``data.pkl`` record, as ``torch.save`` writes them (its first record); judged from the
    central directory, or from the first record's header when the archive is cut short."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name == "data.pkl" or name.endswith("/data.pkl") for name in archive.namelist())
    except ZIP_ERRORS:
        pass
    try:
        with path.open("rb") as handle:
            header = handle.read(30 + 1024)
    except OSError:
        return False
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        return False
    name_length = int.from_bytes(header[26:28], "little")
    return header[30 : 30 + name_length].endswith(b"data.pkl")


def _zip_is_whole(path: Path) -> bool:
    """Whether every entry the central directory lists lies within the file, judged from the directory alone.

    Nothing is inflated: naming a file's kind must cost nothing on a ZIP bomb (``testzip()`` would inflate every
    entry, 320 KB becoming 256 GB).
    """
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            return all(_entry_end(info) <= size for info in archive.infolist())
    except ZIP_ERRORS:
        return False


def _entry_end(info: zipfile.ZipInfo) -> int:
    # The local header (30 bytes, the name, an extra field of at most what the central directory shows), then data.
    return info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size


def may_be_torch_file(path: Path) -> bool:
    """Whether ``path`` starts the way a torch.save file does (a torch ZIP archive, or a protocol-2+ pickle)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError:
        return True  # let the loader report why it cannot be read
    if head.startswith(b"PK"):
        return is_torch_zip(path)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def describe_file(path: Path) -> str:
    """What ``path`` holds, in a few words: "an empty file", "a YAML file", "a text file", "a ZIP archive that is
    not a torch checkpoint", "a binary file of unknown format"..."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_HEAD)
    except OSError as err:
        return f"a file that cannot be read ({err.strerror or err})"
    if size == 0:
        return "an empty file"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if not is_torch_zip(path):
            return "a ZIP archive that is not a torch checkpoint"
        return "a torch checkpoint (ZIP format)" if _zip_is_whole(path) else "a torch checkpoint cut short or damaged"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "a pickle"
    text = _as_text(head)
    if text is None:
        return "a binary file of unknown format"
    return _describe_text(path, text, size)


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the end of the head is still text.
        if err.start >= len(head) - 3:
            return head[: err.start].decode("utf-8")
        return None


def _describe_text(path: Path, head: str, size: int) -> str:
    whole = head
    if size <= _PARSE_LIMIT:
        try:
            whole = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return "a text file"
    stripped = whole.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(whole)
            return "a JSON file"
        except ValueError:
            pass
    if path.suffix.lower() in (".yaml", ".yml") or _is_yaml_document(whole):
        return "a YAML file"
    return "a text file"


def _is_yaml_document(text: str) -> bool:
    """A YAML mapping or list (plain prose parses as one string scalar, which is just text)."""
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, (dict, list))
