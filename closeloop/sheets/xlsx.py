"""A streaming .xlsx writer for the exports: one sheet, a fixed set of styles, rows as they come.

Why not openpyxl's write-only workbook (used before): it builds a cell object and an lxml
element per cell, ~50 µs each — 100,000 tasks × 9 columns were 45 s of CPU, over the 20 s the
export may take (issue 14). Here a row is one string join (~1 µs a cell); the package parts
around it are the few fixed XML documents SpreadsheetML needs. Rows are written to a
temporary file first, so the sheet can open with its `<dimension>` (readers then know its
size without parsing it twice; openpyxl's read-only mode parses a sheet without one twice),
then copied into the zip. Memory stays that of one row.

What a sheet may hold: a title row, a header row (frozen below it), column widths (a column
may be hidden), list
drop-downs, and cells of text (inline strings; `quote=True` cells carry Excel's quotePrefix
style: text that looks like a formula stays text), numbers, percents (0%), dates
(yyyy-mm-dd) and date-times (yyyy-mm-dd hh:mm).
"""

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

# Characters XML 1.0 cannot carry (openpyxl's ILLEGAL_CHARACTERS_RE): dropped from text.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - serial days count naive local time
_EPOCH_DATE = _EPOCH.date()

# Cell style ids, as the <cellXfs> of STYLES lists them.
TITLE, HEADER, DATE, DATETIME, PERCENT, QUOTED = 1, 2, 3, 4, 5, 6

STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>
<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFE8EEF7"/><bgColor indexed="64"/></patternFill></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="7">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1"><alignment vertical="center"/></xf>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""

ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""

WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""

WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<bookViews><workbookView/></bookViews>
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""


def _letter(index: int) -> str:
    """1 → A, 27 → AA."""
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def escape(text: str) -> str:
    """Text for an XML element or attribute: illegal characters dropped, markup escaped."""
    text = _ILLEGAL.sub("", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def serial(value: dt.date | dt.datetime) -> str:
    """Excel's serial day number (1900 date system) of a date or naive date-time."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - _EPOCH
        return repr(delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000)
    return str((value - _EPOCH_DATE).days)


class Cell:
    """A value with an explicit style (TITLE, HEADER, PERCENT, QUOTED…)."""

    __slots__ = ("style", "value")

    def __init__(self, value: Any, style: int):
        self.value = value
        self.style = style


class SheetWriter:
    """Rows in, one .xlsx out: `append(row)` for each row, then `save(out)`."""

    def __init__(
        self,
        title: str,
        *,
        widths: Sequence[float] = (),
        frozen_rows: int = 0,
        hidden: Iterable[int] = (),
    ):
        self.title = title
        self.widths = list(widths)
        self.hidden = frozenset(hidden)  # 1-based columns Excel does not show
        self.frozen_rows = frozen_rows
        self.validations: list[tuple[int, Sequence[str]]] = []
        self.rows = 0
        self.columns = 0
        self.letters = [_letter(i) for i in range(1, 101)]
        self._body = tempfile.TemporaryFile()  # noqa: SIM115 - closed in save()

    def drop_down(self, column: int, choices: Sequence[str]) -> None:
        """A list of allowed values for `column` (1-based), below the frozen rows."""
        self.validations.append((column, choices))

    def _ref(self, col: int) -> str:
        while col > len(self.letters):
            self.letters.append(_letter(len(self.letters) + 1))
        return self.letters[col - 1]

    def append(self, values: Iterable[Any], percent_columns: frozenset[int] = frozenset()) -> None:
        """One row. A value: None (empty), str, int/float (PERCENT when its 0-based column is
        in `percent_columns`), bool, date/datetime, or a `Cell` with its own style."""
        self.rows += 1
        r = str(self.rows)
        parts = [f'<row r="{r}">']
        col = 0
        for value in values:
            col += 1
            if value is None:
                continue
            style = 0
            if isinstance(value, Cell):
                style, value = value.style, value.value
                if value is None:
                    continue
            ref = (self.letters[col - 1] if col <= len(self.letters) else self._ref(col)) + r
            if isinstance(value, str):
                text = escape(value)
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                s = f' s="{style}"' if style else ""
                parts.append(f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                if not style and (col - 1) in percent_columns:
                    style = PERCENT
                s = f' s="{style}"' if style else ""
                parts.append(f'<c r="{ref}"{s}><v>{value!r}</v></c>')
            elif isinstance(value, dt.datetime):
                timed = value.hour or value.minute
                parts.append(f'<c r="{ref}" s="{DATETIME if timed else DATE}"><v>{serial(value)}</v></c>')
            elif isinstance(value, dt.date):
                parts.append(f'<c r="{ref}" s="{DATE}"><v>{serial(value)}</v></c>')
            else:
                text = escape(str(value))
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>')
        self.columns = max(self.columns, col)
        parts.append("</row>")
        self._body.write("".join(parts).encode())

    def _head(self) -> str:
        last = self._ref(max(self.columns, 1)) + str(max(self.rows, 1))
        out = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">',
            f'<dimension ref="A1:{last}"/>',
            '<sheetViews><sheetView workbookViewId="0">',
        ]
        if self.frozen_rows:
            top = f"A{self.frozen_rows + 1}"
            out.append(
                f'<pane ySplit="{self.frozen_rows}" topLeftCell="{top}" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/>'
            )
        out.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
        if self.widths:
            out.append("<cols>")
            for i, width in enumerate(self.widths, start=1):
                hide = ' hidden="1"' if i in self.hidden else ""
                out.append(f'<col min="{i}" max="{i}" width="{width}"{hide} customWidth="1"/>')
            out.append("</cols>")
        out.append("<sheetData>")
        return "".join(out)

    def _tail(self) -> str:
        out = ["</sheetData>"]
        if self.validations:
            out.append(f'<dataValidations count="{len(self.validations)}">')
            first = self.frozen_rows + 1
            for column, choices in self.validations:
                letter = self._ref(column)
                formula = escape('"' + ",".join(choices) + '"')
                out.append(
                    f'<dataValidation type="list" allowBlank="1" showErrorMessage="1" '
                    f'sqref="{letter}{first}:{letter}1048576"><formula1>{formula}</formula1></dataValidation>'
                )
            out.append("</dataValidations>")
        out.append("</worksheet>")
        return "".join(out)

    def save(self, out: IO[bytes]) -> None:
        """Write the package into `out` (a binary file, left open)."""
        try:
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                zf.writestr("[Content_Types].xml", CONTENT_TYPES)
                zf.writestr("_rels/.rels", ROOT_RELS)
                zf.writestr("xl/workbook.xml", WORKBOOK.format(name=escape(self.title[:31])))
                zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
                zf.writestr("xl/styles.xml", STYLES)
                with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                    sheet.write(self._head().encode())
                    self._body.seek(0)
                    shutil.copyfileobj(self._body, sheet, 1 << 20)
                    sheet.write(self._tail().encode())
        finally:
            self._body.close()
