"""School templates (issue #4 point 5): the example a school starts from, and what a
template uses.

A school may lay its summaries out in its own .docx with docxtpl placeholders instead of the
built-in 公文 layout. The names a template can use are documented from
``docx_render.TEMPLATE_PLACEHOLDERS`` (and the section and table field lists); the example
template below uses the main ones, including a table with a row loop, and is rendered in the
tests, so it cannot drift from the code.
"""

from __future__ import annotations

import io
import re
from typing import Any, Final

from docx import Document
from docx.shared import Pt

EXAMPLE_TEMPLATE_NAME: Final = "工作总结模板示例.docx"

# Top-level names a template refers to: {{ name…, {%… in name…, {%p if name… (docxtpl tags).
_NAME_RE: Final = re.compile(
    r"(?:\{\{-?|\{%-?\s*[prtc]?\s*(?:for\s+\w+(?:\s*,\s*\w+)?\s+in|if|elif))\s*([A-Za-z_]\w*)"
)


def example_template() -> bytes:
    """A plain .docx that lays out a summary with the documented placeholders."""
    document = Document()
    lines = (
        "{{ title }}",
        "{%p if subtitle %}",
        "{{ subtitle }}",
        "{%p endif %}",
        "{%p for p in lead %}",
        "{{ p }}",
        "{%p endfor %}",
        "{%p for s in sections %}",
        "{{ s.heading }}",
        "{%p for p in s.paragraphs %}",
        "{{ p }}",
        "{%p endfor %}",
        "{%p for c in s.children %}",
        "{{ c.heading }}",
        "{%p for p in c.paragraphs %}",
        "{{ p }}",
        "{%p endfor %}",
        "{%p endfor %}",
        "{%p endfor %}",
        "{%p for t in tables %}",
        "{{ t.caption }}",
    )
    for line in lines:
        document.add_paragraph(line)
    # One table per summary table: the header row loops over the columns ({%tc%}), the body
    # over the rows ({%tr%}) and, inside each row, over the cells.
    table = document.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    cells = (
        ("{%tc for h in t.columns %}", "{{ h }}", "{%tc endfor %}"),
        ("{%tr for r in t.rows %}", "", ""),
        ("{%tc for v in r %}", "{{ v }}", "{%tc endfor %}"),
        ("{%tr endfor %}", "", ""),
    )
    for row, texts in zip(table.rows, cells, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    for line in ("{{ t.note }}", "{%p endfor %}", "{{ signatory }}", "{{ issued_on }}"):
        document.add_paragraph(line)
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(14)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def template_names(template: bytes) -> list[str]:
    """The top-level placeholder names a template's text uses (for the template list), read
    from the paragraphs and table cells; the loop variables it defines are left out."""
    try:
        document = Document(io.BytesIO(template))
    except Exception:
        return []
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    text = "\n".join(texts)
    loop_variables = set(re.findall(r"for\s+(\w+)(?:\s*,\s*(\w+))?\s+in", text))
    defined = {name for pair in loop_variables for name in pair if name}
    names: list[str] = []
    for name in _NAME_RE.findall(text):
        if name not in defined and name not in names:
            names.append(name)
    return names


def describe(placeholders: Any) -> list[dict[str, str]]:
    """Rows for the placeholder table on the template page."""
    return [
        {"name": p.name, "description": p.description, "example": p.example} for p in placeholders
    ]
