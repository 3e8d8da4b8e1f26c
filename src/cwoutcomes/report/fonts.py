"""The report's fonts, shipped in `fonts/` (DejaVu, from Debian's fonts-dejavu packages; licence
in fonts/LICENSE): DejaVu Sans Condensed for text and tables, DejaVu Sans for charts. HTML and
PDF embed them as WOFF2 subsets (Latin, punctuation and the few symbols the report uses), so a
report looks the same on any machine and nothing is fetched. The subsets are shipped ready
made (`*.subset.woff2`; subsetting takes seconds per process); `build_subsets` remakes them
from the full TrueType files. vl-convert needs the full DejaVuSans.ttf for chart text."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from cwoutcomes.report.charts import fonts_dir

FACES = (
    # (CSS family, weight, source TrueType file)
    ("DejaVu Sans Condensed", "normal", "DejaVuSansCondensed.ttf"),
    ("DejaVu Sans Condensed", "bold", "DejaVuSansCondensed-Bold.ttf"),
    ("DejaVu Sans", "normal", "DejaVuSans.ttf"),
)
DEBIAN_FONTS = Path("/usr/share/fonts/truetype/dejavu")
# Basic Latin, Latin-1, Latin Extended-A (names), general punctuation (dashes, quotes, †, •, …),
# arrows, minus, ∞, ≈, ≤, ≥, the triangles and circles of marks, and check marks (✓ ✗).
UNICODES = [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2010, 0x2027), *range(0x2030, 0x203B),
            *range(0x2190, 0x2194), 0x2212, 0x221E, 0x2248, 0x2260, 0x2264, 0x2265, 0x25B2, 0x25B3, 0x25BC,
            0x25BD, 0x25CB, 0x25CF, 0x2713, 0x2717]


def subset_name(filename: str) -> str:
    return filename.replace(".ttf", ".subset.woff2")


def build_subsets(source: Path = DEBIAN_FONTS, target: Path | None = None) -> list[Path]:
    """Remake the shipped WOFF2 subsets from the full fonts in `source` (maintenance only)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    target = target or fonts_dir()
    written = []
    for _, _, filename in FACES:
        font = TTFont(str(Path(source) / filename))
        options = subset.Options()
        options.flavor = "woff2"
        options.drop_tables += ["FFTM"]
        options.layout_features = ["kern", "liga"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=UNICODES)
        subsetter.subset(font)
        path = Path(target) / subset_name(filename)
        font.save(str(path))
        written.append(path)
    return written


@functools.cache
def font_face_css() -> str:
    """@font-face rules with the fonts embedded as data: URIs."""
    rules = []
    for family, weight, filename in FACES:
        data = base64.b64encode((fonts_dir() / subset_name(filename)).read_bytes()).decode("ascii")
        rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
                     f'src: url(data:font/woff2;base64,{data}) format("woff2"); }}')
    return "\n".join(rules)
