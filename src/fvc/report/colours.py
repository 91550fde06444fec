"""Cell colours that stay readable: a sequential fill and a text colour chosen by the fill's luminance.

A fixed "white above 60 % of the maximum" rule wrote white numbers on
near-white cells; picking the text colour with the larger WCAG contrast
ratio against the actual fill cannot.
"""

from __future__ import annotations

from itertools import pairwise

# light to dark blue (ColorBrewer "Blues" end points and middle); light to dark red for below-chance scores
_SCALE = ((0.0, (247, 251, 255)), (0.5, (107, 174, 214)), (1.0, (8, 48, 107)))
_REDS = ((0.0, (255, 245, 240)), (0.5, (251, 106, 74)), (1.0, (103, 0, 13)))
DARK_TEXT, LIGHT_TEXT = "#000000", "#ffffff"


def fill(t: float, scale: tuple = _SCALE) -> str:
    """Hex colour at position ``t`` in [0, 1] of a sequential scale (blue unless given)."""
    t = min(max(float(t), 0.0), 1.0)
    for (t0, c0), (t1, c1) in pairwise(scale):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(c0, c1))
    return "#" + "".join(f"{c:02x}" for c in scale[-1][1])


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    h = hex_colour.lstrip("#")
    chans = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """The text colour (near-black or white) with the higher contrast on ``background``."""
    return DARK_TEXT if contrast(background, DARK_TEXT) >= contrast(background, LIGHT_TEXT) else LIGHT_TEXT


def cell_style(t: float) -> str:
    """Inline CSS for a heat cell at position ``t``: fill and readable text colour."""
    bg = fill(t)
    return f"background:{bg};color:{text_on(bg)}"


def auc_style(auc: float, chance: float = 0.5) -> str:
    """Diverging fill for a ROC-AUC: white at chance, blue above, red below (a model ranking backwards)."""
    if auc >= chance:
        bg = fill((auc - chance) / (1 - chance))
    else:
        bg = fill((chance - auc) / chance, _REDS)
    return f"background:{bg};color:{text_on(bg)}"
