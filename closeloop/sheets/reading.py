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
import xml.parsers.expat
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from closeloop.core.errors import ValidationFailed

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
# A spreadsheet's XML compresses well, but not a thousandfold: beyond this ratio it is a bomb.
MAX_RATIO = 200


class Percent(float):
    """A number from a cell formatted as a percent (0%, 0.00%…): Excel stores 60% as 0.6 and
    150% as 1.5, so the value is always a fraction, whatever its size."""

    __slots__ = ()


@dataclass(frozen=True)
class Sheet:
    """One worksheet of the file (a CSV is one sheet with no name): `rows()` starts reading it."""

    name: str
    rows: Callable[[], Iterator[tuple[int, list[Any]]]]


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


EXCEL_NAMES = (".xlsx", ".xlsm", ".xltx", ".xltm")


def not_excel() -> ValidationFailed:
    return _refuse(
        _(
            "The file is not a valid Excel (.xlsx) file: it was perhaps renamed, or saved in another format. Open it in Excel or WPS and save it as Excel Workbook (.xlsx), or as .csv."
        )
    )


_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32))


def _binary(sample: bytes) -> bool:
    """Whether bytes look like no text at all: more than one in ten a control character (a
    stray NUL in a CSV is a row's problem, named as such; an image or a PDF is all of them)."""
    return sum(sample.count(c) for c in _CONTROL) * 10 > len(sample)


def sniff_kind(path: Path, name: str = "") -> str:
    """'xlsx' or 'csv' from the file's first bytes (the name may lie); ValidationFailed for an
    old binary .xls, an empty file, or one that is neither: named .xlsx (`name`, as uploaded)
    but no zip, or binary (control bytes, no UTF-16 mark) — no CSV is either."""
    with open(path, "rb") as f:
        head = f.read(8)
        sample = head + f.read(8192 - len(head))
    if not head:
        raise _refuse(_("The file is empty."))
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise _refuse(
            _("This is an old .xls file: save it as .xlsx (Excel Workbook) or .csv and upload again.")
        )
    if name.lower().endswith(EXCEL_NAMES):
        raise not_excel()
    if not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _binary(sample):
        raise not_excel()
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
_COLUMN = re.compile(r"[A-Z]+")
CHUNK = 1 << 16


def _has_formulas(part: IO[bytes]) -> bool:
    """Whether a sheet's XML holds any formula: read as bytes in chunks (overlapping by a
    tag's length), a scan far cheaper than parsing the cells a second time."""
    tail = b""
    while chunk := part.read(1 << 20):
        if _FORMULA_TAG.search(tail + chunk):
            return True
        tail = chunk[-32:]
    return False


def _column(ref: str | None, previous: int) -> int:
    """1-based column of a cell reference ("C7" → 3); the next column when there is none."""
    match = _COLUMN.match(ref or "")
    if not match:
        return previous + 1
    number = 0
    for ch in match.group(0):
        number = number * 26 + ord(ch) - 64
    return number


def _refuse_dtd(*_args: Any) -> None:
    raise _refuse(_("The file is not a readable .xlsx workbook."))


class _SheetValues:
    """The cached values of one sheet's XML, row by row, with expat directly: openpyxl's
    read-only parser builds an element and, for inline strings, a rich-text object per
    cell (~25 µs a cell: most of a 10,000-row import). Same values as openpyxl's
    `iter_rows(values_only=True)` in data-only mode: shared and inline strings, numbers
    (int or float), dates by their cell style, booleans, error codes; rows numbered from 1,
    a missing row as an empty list. A DTD or entity declaration is refused (what defusedxml
    does for openpyxl)."""

    def __init__(
        self,
        part: IO[bytes],
        *,
        shared: Sequence[Any],
        dates: set,
        timedeltas: set,
        epoch,
        percents: set = frozenset(),  # type: ignore[assignment]
    ):
        self.part = part
        self.percents = percents
        self.shared = shared
        self.dates = dates
        self.timedeltas = timedeltas
        self.epoch = epoch
        self.done: list[tuple[int, list[Any]]] = []
        self.row_number = 0
        self.cells: list[Any] = []
        self.col = 0
        self.kind = "n"
        self.style = 0
        self.text: list[str] | None = None
        self.value: str | None = None
        self.inline: list[str] = []
        self.in_inline = self.in_phonetic = False

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        parser = xml.parsers.expat.ParserCreate()
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.ExternalEntityRefHandler = _refuse_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data
        parser.buffer_text = True
        emitted = 0
        while True:
            chunk = self.part.read(CHUNK)
            parser.Parse(chunk, not chunk)
            for number, cells in self.done:
                while emitted + 1 < number:  # rows the sheet leaves out are empty
                    emitted += 1
                    yield emitted, []
                emitted = number
                yield number, cells
            self.done.clear()
            if not chunk:
                return

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "c":
            self.col = _column(attrs.get("r"), self.col)
            self.kind = attrs.get("t", "n")
            self.style = int(attrs.get("s") or 0)
            self.value = None
            self.inline = []
        elif tag == "v":
            self.text = []
        elif tag == "t" and self.in_inline and not self.in_phonetic:
            self.text = []
        elif tag == "row":
            r = attrs.get("r")
            self.row_number = int(float(r)) if r else self.row_number + 1
            self.cells = []
            self.col = 0
        elif tag == "is":
            self.in_inline = True
        elif tag == "rPh":
            self.in_phonetic = True

    def _data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def _end(self, name: str) -> None:
        tag = name.rpartition(":")[2]
        if tag == "v":
            self.value = "".join(self.text or ()) or None
            self.text = None
        elif tag == "t" and self.text is not None:
            self.inline.append("".join(self.text))
            self.text = None
        elif tag == "c":
            value = self._convert()
            if value is not None:
                while len(self.cells) < self.col - 1:
                    self.cells.append(None)
                self.cells.append(value)
        elif tag == "row":
            self.done.append((self.row_number, self.cells))
        elif tag == "is":
            self.in_inline = False
        elif tag == "rPh":
            self.in_phonetic = False

    def _convert(self) -> Any:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        kind, value = self.kind, self.value
        if kind == "inlineStr":
            return "".join(self.inline) if self.inline else None
        if value is None:
            return None
        if kind == "n":
            number = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
            if self.style in self.dates:
                try:
                    return from_excel(number, self.epoch, timedelta=self.style in self.timedeltas)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            if self.style in self.percents:
                return Percent(number)
            return number
        if kind == "s":
            return self.shared[int(value)]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return from_ISO8601(value)
        return value  # "str" (a formula's text result), "e" (an error code)


def _percent_styles(wb) -> set[int]:
    """The cell styles (indexes of <cellXfs>) whose number format shows a percent: builtin 9
    and 10 (0%, 0.00%) or a custom format with a % outside quotes."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, builtin_format_code

    out = set()
    for idx, style in enumerate(getattr(wb, "_cell_styles", ())):
        fid = style.numFmtId
        if fid < BUILTIN_FORMATS_MAX_SIZE:
            code = builtin_format_code(fid) or ""
        else:
            custom = wb._number_formats
            code = (
                custom[fid - BUILTIN_FORMATS_MAX_SIZE] if fid - BUILTIN_FORMATS_MAX_SIZE < len(custom) else ""
            )
        if "%" in re.sub(r'"[^"]*"|\\.', "", code):
            out.add(idx)
    return out


def _visible_sheets(reader) -> list[tuple[str, str]]:
    """(name, part) of each visible worksheet, in the workbook's order."""
    return [
        (sheet.name, rel.target)
        for sheet, rel in reader.parser.find_sheets()
        if rel.target in reader.valid_files
        and "chartsheet" not in rel.Type
        and sheet.state in (None, "visible")
    ]


def xlsx_sheets(path: Path) -> list[Sheet]:
    """The visible worksheets of an .xlsx, in order, each read on demand by `_xlsx_rows`."""
    from openpyxl.reader.excel import ExcelReader

    try:
        with open(path, "rb") as f:
            reader = ExcelReader(f, read_only=True, data_only=True)
            try:
                reader.read_manifest()
                reader.read_workbook()
                names = [name for name, _target in _visible_sheets(reader)]
            finally:
                reader.archive.close()
    except Exception:  # openpyxl raises many kinds on a broken file
        raise _refuse(_("The file is not a readable .xlsx workbook.")) from None
    if not names:
        raise _refuse(_("The file is not a readable .xlsx workbook."))
    return [Sheet(name, lambda i=i: _xlsx_rows(path, i)) for i, name in enumerate(names)]


def _xlsx_rows(path: Path, sheet: int = 0) -> Iterator[tuple[int, list[Any]]]:
    """Cached values of the visible sheet number `sheet` (0: the first); a formula cell
    without a cached value comes back as `Formula`, a number in a percent-formatted cell as
    `Percent`. The values are read with `_SheetValues` from the parts openpyxl's
    reader finds (workbook, shared strings, styles — not its worksheets, whose size it
    would find by parsing a sheet without `<dimension>` to the end). A sheet with formulas
    is read a second time by openpyxl for the formulas' text, side by side, so memory stays
    that of one row."""
    from openpyxl import load_workbook
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    # File objects, not the path: openpyxl refuses a path whose name does not end in .xlsx,
    # and an upload is stored under a random token.
    values_file = open(path, "rb")  # noqa: SIM115 - closed below
    formulas_file = None
    formulas_wb = None
    reader = None
    try:
        reader = ExcelReader(values_file, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        every = [
            (rel.target, sheet.state in (None, "visible"))
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
        visible = [i for i, (_t, shown) in enumerate(every) if shown] or [0]
        index = visible[sheet]
        target = every[index][0]
        with reader.archive.open(target) as part:
            formulas = _has_formulas(part)
        if formulas:
            formulas_file = open(path, "rb")  # noqa: SIM115 - closed below
            formulas_wb = load_workbook(formulas_file, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a broken file
        if reader is not None:
            reader.archive.close()
        values_file.close()
        if formulas_file is not None:
            formulas_file.close()
        raise _refuse(_("The file is not a readable .xlsx workbook.")) from None
    part = reader.archive.open(target)
    try:
        wb = reader.wb
        values = _SheetValues(
            part,
            shared=reader.shared_strings,
            dates=wb._date_formats,
            timedeltas=wb._timedelta_formats,
            epoch=wb.epoch,
            percents=_percent_styles(wb),
        )
        formula_rows = (
            formulas_wb.worksheets[index].iter_rows(values_only=True)
            if formulas_wb is not None
            else itertools.repeat(())
        )
        for (number, row), frow in zip(values, formula_rows, strict=False):
            cells: list[Any] = []
            for i, value in enumerate(row):
                if value is None and i < len(frow) and isinstance(frow[i], str) and frow[i].startswith("="):
                    cells.append(Formula(frow[i]))
                elif isinstance(value, str):
                    cells.append(value.strip())
                else:
                    cells.append(value)
            for i in range(len(row), len(frow)):  # a formula cell past the last value
                if isinstance(frow[i], str) and frow[i].startswith("="):
                    cells.extend([None] * (i - len(cells)))
                    cells.append(Formula(frow[i]))
            yield number, cells
    except ValidationFailed:
        raise
    except Exception:
        raise _refuse(_("The file is not a readable .xlsx workbook.")) from None
    finally:
        part.close()
        reader.archive.close()
        values_file.close()
        if formulas_wb is not None:
            formulas_wb.close()
            formulas_file.close()


def open_sheets(path: Path | str, *, name: str = "") -> list[Sheet]:
    """The file's visible sheets (a CSV: one, unnamed), each read row by row on demand as
    (1-based row number, cell values). `name` is the file's name as uploaded (the stored
    file has none). Raises ValidationFailed (field `file`) for a file over the limits or
    unreadable."""
    path = Path(path)
    check_size(path.stat().st_size)
    kind = sniff_kind(path, name)
    if kind == "xlsx":
        check_unpacked(path)
        return xlsx_sheets(path)
    return [Sheet("", lambda: _csv_rows(path))]


def open_rows(path: Path | str, *, name: str = "") -> Iterator[tuple[int, list[Any]]]:
    """Every row of the file's first visible sheet as (1-based row number, cell values).
    Raises ValidationFailed (field `file`) for a file over the limits or unreadable."""
    return open_sheets(path, name=name)[0].rows()
