"""The one TOML reader: the config file and the company catalog are both read here.

Both want the same things of a file a person edits by hand: UTF-8 with a byte-order mark
accepted (Windows editors add one), and an error that names the file, the line and the fault
instead of a traceback. The caller adds what to do about it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Fault = Literal["missing", "unreadable", "encoding", "syntax"]


@dataclass(frozen=True)
class TomlFileError(Exception):
    """`path` could not be read as TOML; `fault` says which way, `detail` says where."""

    path: Path
    fault: Fault
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TomlFileError(path, "missing", "file not found") from None
    except OSError as exc:
        raise TomlFileError(path, "unreadable", f"cannot read the file ({exc.strerror})") from None
    try:
        return tomllib.loads(_utf8_text(path, data))
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(path, "syntax", f"not valid TOML ({exc})") from None


def _utf8_text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        detail = f"line {line} is not UTF-8 (byte 0x{data[exc.start]:02x})"
        raise TomlFileError(path, "encoding", detail) from None
