"""Catch trials: an obvious non-lesion image, drawn by code, that no attentive participant calls real.

Each pattern is a flat, plainly computer-made test card (a grey card with a large checkerboard, or
colour bars) computed from its number alone, so that a build is reproducible and nothing is downloaded
or copied. The pixels go through the same encoder and padding as every other image of a set
(turing/encoding.py), so no file property sets them apart; only what they show does. The truth stored
for a catch image is "synthetic": calling it real fails the check. Pure numpy, no Django.
"""
from __future__ import annotations

import numpy as np

GREY = 128


def checkerboard(side: int) -> np.ndarray:
    """A mid-grey card with a 4 x 4 black-and-white checkerboard in its middle two thirds."""
    pixels = np.full((side, side, 3), GREY, np.uint8)
    margin = side // 6
    inner = side - 2 * margin
    yy, xx = np.mgrid[0:inner, 0:inner] * 4 // max(inner, 1)
    pixels[margin:margin + inner, margin:margin + inner] = np.where((yy + xx)[:, :, None] % 2, 255, 0)
    return pixels


BAR_COLOURS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0),
               (0, 0, 192)]  # the seven 75% bars of a broadcast test card


def colour_bars(side: int) -> np.ndarray:
    """Seven vertical colour bars over a grey strip."""
    pixels = np.full((side, side, 3), GREY, np.uint8)
    columns = np.arange(side) * len(BAR_COLOURS) // side
    pixels[: side * 3 // 4] = np.array(BAR_COLOURS, np.uint8)[columns][None, :, :]
    return pixels


PATTERNS = {"checkerboard": checkerboard, "colour-bars": colour_bars}


def pattern(number: int, side: int) -> tuple[str, np.ndarray]:
    """Catch pattern `number` (they take turns) as (name, side x side RGB uint8 pixels)."""
    name = list(PATTERNS)[number % len(PATTERNS)]
    return name, PATTERNS[name](side)
