"""Bar charts drawn on the server as SVG.

No script and no third-party host; the page's CSP forbids inline styles, so the
charts use SVG presentation attributes (position, size) and classes from the
site's stylesheet (colours). Every chart comes with its figures in a table.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 180
LABEL_BAND = 20


def _short(name: str) -> str:
    """An axis label: "11-24" for a day, "18:00" for an hour ("YYYY-MM-DD HH")."""
    if len(name) == 13:
        return f"{name[11:13]}:00"
    return name[5:]


def columns(points: list[tuple[str, int]], *, label: str, label_every: int = 6) -> Markup:
    """Vertical bars for a time series, oldest on the left; every n-th label shown."""
    top = max((n for _, n in points), default=0) or 1
    slot = WIDTH / max(len(points), 1)
    plot = HEIGHT - LABEL_BAND
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="chart-axis" x1="0" y1="{plot}" x2="{WIDTH}" y2="{plot}"/>',
        f'<text class="chart-max" x="2" y="12">{top}</text>',
    ]
    for i, (name, number) in enumerate(points):
        height = round(plot * number / top, 1)
        x = round(i * slot + slot * 0.1, 1)
        parts.append(
            f'<rect class="chart-bar" x="{x}" y="{round(plot - height, 1)}" '
            f'width="{round(slot * 0.8, 1)}" height="{height}">'
            f"<title>{escape(name)}: {number}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text class="chart-label" x="{x}" y="{HEIGHT - 4}">{escape(_short(name))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every value above is a number or escaped)


def bars(items: list[tuple[str, int]], *, label: str) -> Markup:
    """Horizontal bars, one per item, largest first (countries, sources)."""
    top = max((n for _, n in items), default=0) or 1
    row = 22
    height = max(len(items), 1) * row
    name_width = 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, number) in enumerate(items):
        y = i * row
        length = round((WIDTH - name_width - 60) * number / top, 1)
        parts.append(f'<text class="chart-label" x="0" y="{y + 15}">{escape(name)}</text>')
        parts.append(
            f'<rect class="chart-bar" x="{name_width}" y="{y + 3}" width="{length}" '
            f'height="{row - 6}"><title>{escape(name)}: {number}</title></rect>'
        )
        parts.append(
            f'<text class="chart-figure" x="{name_width + length + 4}" y="{y + 15}">{number}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every value above is a number or escaped)
