"""The PDF of a report: the same HTML printed by WeasyPrint (no browser), with the page layout
of the template's @page rules (running head, confidentiality mark, page numbers)."""

from __future__ import annotations

from pathlib import Path


def write_pdf(html: str, path: Path) -> Path:
    import weasyprint

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The HTML is self-contained (fonts and charts inline), so there is no base URL to resolve
    # and nothing is fetched.
    weasyprint.HTML(string=html, base_url=None).write_pdf(str(path))
    return path
