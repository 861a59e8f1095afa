"""Render summary paragraphs with every number linked to the records it counts."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from xiaowu.reports.document import Figure, FigureRef, Paragraph, Table, TableColumn, TableRow

register = template.Library()


@register.simple_tag
def paragraph_html(paragraph: Paragraph, figures: dict[str, Figure]) -> SafeString:
    parts: list[str] = []
    for run in paragraph.runs:
        if isinstance(run, FigureRef):
            figure = figures[run.key]
            title = f"{figure.label}：{figure.definition}" if figure.definition else figure.label
            if figure.url:
                parts.append(
                    format_html(
                        '<a class="xw-figure" href="{}" title="{}" data-figure="{}">{}</a>',
                        figure.url,
                        title,
                        figure.key,
                        figure.display(),
                    )
                )
            else:
                parts.append(
                    format_html(
                        '<span class="xw-figure" title="{}" data-figure="{}">{}</span>',
                        title,
                        figure.key,
                        figure.display(),
                    )
                )
        else:
            parts.append(str(conditional_escape(run)))
    # Every piece above is escaped or built with format_html.
    return mark_safe("".join(parts))


@register.simple_tag
def table_cell_html(
    table: Table, row: TableRow, column: TableColumn, figures: dict[str, Figure]
) -> SafeString:
    """One table cell: a number links to the records it counts, like numbers in the text."""
    cell = row.cells.get(column.key)
    text = table.cell_text(row, column, figures)
    if not isinstance(cell, FigureRef):
        return format_html("{}", text)
    figure = figures[cell.key]
    title = f"{figure.label}：{figure.definition}" if figure.definition else figure.label
    if figure.url:
        return format_html(
            '<a class="xw-figure" href="{}" title="{}" data-figure="{}">{}</a>',
            figure.url,
            title,
            figure.key,
            text,
        )
    return format_html(
        '<span class="xw-figure" title="{}" data-figure="{}">{}</span>', title, figure.key, text
    )
