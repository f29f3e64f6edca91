"""Workbooks for people: one sheet, streamed straight to SpreadsheetML, owner-only.

openpyxl builds a cell object per value even in write-only mode; this writer emits
the sheet's XML row by row into the zip instead (about twice as fast as pandas'
``to_excel``, see ``benchmarks/xlsx_write.py``) and keeps memory flat. Text is
written as inline strings, dates and datetimes as Excel serials with a date style,
numbers as numbers, booleans as booleans; ``None`` leaves the cell empty. Every zip
entry carries the same fixed time, so the bytes are a function of the rows alone: a
rerun over the same data gives the same checksum.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

_EPOCH = date(1899, 12, 30)
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)  # zip's earliest time, instead of the clock's
# Characters XML 1.0 cannot carry (control characters other than tab, newline, return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# Style 1: yyyy-mm-dd; style 2: yyyy-mm-dd hh:mm:ss.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - datetime(1899, 12, 30)).total_seconds() / 86400
        return f'<c r="{ref}" s="2"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="1"><v>{(value - _EPOCH).days}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    text = escape(_NOT_XML.sub("", str(value)))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry stamped with the fixed time, deflated as the file's other entries."""
    info = zipfile.ZipInfo(name, date_time=_ENTRY_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = 1  # fast, as the streamed sheet needs (public as compress_level from 3.13)
    info.external_attr = 0o600 << 16
    return info


def write_workbook(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]], sheet: str = "Sheet1") -> int:
    """One sheet: a header of ``columns`` then one row per mapping; the number of data rows."""
    from etl_bundle.common.private_files import open_private

    letters = [column_letter(i) for i in range(len(columns))]
    workbook_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    count = 0
    with open_private(path) as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr(_entry("[Content_Types].xml"), _CONTENT_TYPES)
        book.writestr(_entry("_rels/.rels"), _ROOT_RELS)
        book.writestr(_entry("xl/workbook.xml"), workbook_xml)
        book.writestr(_entry("xl/_rels/workbook.xml.rels"), _WORKBOOK_RELS)
        book.writestr(_entry("xl/styles.xml"), _STYLES)
        with book.open(_entry("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as sheet_xml:
            sheet_xml.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            header = "".join(_cell(f"{letter}1", name) for letter, name in zip(letters, columns, strict=True))
            sheet_xml.write(f'<row r="1">{header}</row>'.encode())
            for number, row in enumerate(rows, start=2):
                cells = "".join(
                    _cell(f"{letter}{number}", row.get(name)) for letter, name in zip(letters, columns, strict=True)
                )
                sheet_xml.write(f'<row r="{number}">{cells}</row>'.encode())
                count += 1
            sheet_xml.write(b"</sheetData></worksheet>")
    return count


def read_workbook(path: Path) -> list[dict[str, Any]]:
    """The first sheet as one mapping per row, keyed by the header row (openpyxl, read-only).

    A row whose last cells are empty is short in read-only mode: it is padded with ``None``.
    """
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(name) for name in next(rows, ())]
        return [
            dict(zip(header, (*row, *[None] * (len(header) - len(row))), strict=True))
            for row in rows
            if any(cell is not None for cell in row)
        ]
    finally:
        book.close()
