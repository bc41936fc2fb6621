"""Reading an uploaded sheet, row by row, whatever Excel or WPS made of it.

`open_rows(path)` yields `(row_number, cells)` for an .xlsx (openpyxl read-only, cached values)
or a .csv (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030 — what Chinese Excel
writes as "CSV"), streaming: a 10 MB file is never held as Python objects all at once.
Limits are checked before anything is parsed: the file size, and for an .xlsx (a zip) the
size it would unpack to. openpyxl parses the XML through defusedxml (installed, so used).
"""

import codecs
import csv
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from closeloop.core.errors import ValidationFailed

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
# A spreadsheet's XML compresses well, but not a thousandfold: beyond this ratio it is a bomb.
MAX_RATIO = 200


@dataclass(frozen=True)
class Formula:
    """A formula cell with no cached value (the file was written by a program that does not
    compute, or never opened in Excel): the value it stands for is unknown."""

    text: str


def max_upload_bytes() -> int:
    return int(getattr(settings, "SHEETS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": [message]})


def check_size(size: int) -> None:
    """Raise ValidationFailed (naming the limit in MB) when `size` bytes is over the limit."""
    limit = max_upload_bytes()
    if size > limit:
        raise _refuse(
            _("The file is %(size).1f MB; the limit is %(limit).0f MB.")
            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024}
        )


def sniff_kind(path: Path) -> str:
    """'xlsx' or 'csv' from the file's first bytes (the name may lie); ValidationFailed for an
    old binary .xls or an empty file."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise _refuse(_("The file is empty."))
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise _refuse(
            _("This is an old .xls file: save it as .xlsx (Excel Workbook) or .csv and upload again.")
        )
    return "csv"


def check_unpacked(path: Path) -> None:
    """Refuse an .xlsx whose parts would unpack to more than SHEETS_MAX_UNPACKED_BYTES, or
    that compresses suspiciously well (a zip bomb), or that is no zip at all. Reads only the
    zip's directory."""
    limit = int(getattr(settings, "SHEETS_MAX_UNPACKED_BYTES", 200 * 1024 * 1024))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise _refuse(_("The file is not a readable .xlsx workbook.")) from None
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > limit or unpacked / packed > MAX_RATIO:
        raise _refuse(_("The workbook unpacks to a suspicious size; it was not read."))


def detect_encoding(path: Path) -> str:
    """The text encoding of a CSV file, without asking: a BOM says it; else strict UTF-8 if the
    whole file decodes as such (checked in chunks, nothing kept); else GB18030, the superset
    of GBK that Chinese Excel and WPS use for 'CSV'."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        try:
            while chunk := f.read(64 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        sample = f.read(8192)
        f.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(f, dialect)
        try:
            for number, row in enumerate(reader, start=1):
                if any("\x00" in cell for cell in row):
                    raise _refuse(
                        _("Row %(row)s contains a NUL byte; is this really a CSV file?") % {"row": number}
                    )
                yield number, [cell.strip() for cell in row]
        except csv.Error as exc:
            raise _refuse(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from None


# A formula element in a sheet's XML (`<f>`, `<f t="shared" …/>`, or with a namespace prefix).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formulas(worksheet: Any) -> bool:
    """Whether the sheet's XML holds any formula: read as bytes in chunks (overlapping by a
    tag's length), a scan far cheaper than parsing the cells a second time."""
    tail = b""
    with worksheet._get_source() as part:  # the sheet's part of the zip, streamed
        while chunk := part.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """Cached values of the first visible sheet; a formula cell without a cached value comes
    back as `Formula`. A sheet with formulas is read in two read-only passes side by side
    (values and formulas), so memory stays that of one row; one without (most sheets, and
    every export) in one."""
    from openpyxl import load_workbook

    # File objects, not the path: openpyxl refuses a path whose name does not end in .xlsx,
    # and an upload is stored under a random token.
    values_file = open(path, "rb")  # noqa: SIM115 - closed below
    formulas_file = None
    formulas_wb = None
    try:
        values_wb = load_workbook(values_file, read_only=True, data_only=True)
        index = next(
            (i for i, ws in enumerate(values_wb.worksheets) if ws.sheet_state == "visible"),
            0,
        )
        if _has_formulas(values_wb.worksheets[index]):
            formulas_file = open(path, "rb")  # noqa: SIM115 - closed below
            formulas_wb = load_workbook(formulas_file, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a broken file
        values_file.close()
        if formulas_file is not None:
            formulas_file.close()
        raise _refuse(_("The file is not a readable .xlsx workbook.")) from None
    try:
        values = values_wb.worksheets[index].iter_rows(values_only=True)
        formulas = (
            formulas_wb.worksheets[index].iter_rows(values_only=True)
            if formulas_wb is not None
            else itertools.repeat(())
        )
        for number, (row, frow) in enumerate(zip(values, formulas, strict=False), start=1):
            cells: list[Any] = []
            for i, value in enumerate(row):
                if value is None and i < len(frow) and isinstance(frow[i], str) and frow[i].startswith("="):
                    cells.append(Formula(frow[i]))
                elif isinstance(value, str):
                    cells.append(value.strip())
                else:
                    cells.append(value)
            yield number, cells
    except ValidationFailed:
        raise
    except Exception:
        raise _refuse(_("The file is not a readable .xlsx workbook.")) from None
    finally:
        values_wb.close()
        values_file.close()
        if formulas_wb is not None:
            formulas_wb.close()
            formulas_file.close()


def open_rows(path: Path | str) -> Iterator[tuple[int, list[Any]]]:
    """Every row of the file's first visible sheet as (1-based row number, cell values).
    Raises ValidationFailed (field `file`) for a file over the limits or unreadable."""
    path = Path(path)
    check_size(path.stat().st_size)
    kind = sniff_kind(path)
    if kind == "xlsx":
        check_unpacked(path)
        return _xlsx_rows(path)
    return _csv_rows(path)
