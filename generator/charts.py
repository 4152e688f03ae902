"""Loss curves as inline SVG: no JavaScript library, readable without it."""
from __future__ import annotations

COLOURS = ["#7a2e3b", "#2f5d8a", "#2f7a46", "#a66a00", "#6b4a9b", "#555"]


def loss_curves(history: list, width: int = 640, height: int = 220, pad: int = 30) -> dict:
    """[[kimg, {name: value}], ...] -> {"series": [{name, colour, points}], "x_max", "y_min", "y_max", ...}."""
    names = sorted({name for _, losses in history for name in losses})
    values = [v for _, losses in history for v in losses.values()]
    if not history or not values:
        return {"series": [], "width": width, "height": height}
    x_max = max(k for k, _ in history) or 1.0
    y_min, y_max = min(values), max(values)
    span = (y_max - y_min) or 1.0

    def point(kimg: float, value: float) -> str:
        x = pad + (width - 2 * pad) * kimg / x_max
        y = height - pad - (height - 2 * pad) * (value - y_min) / span
        return f"{x:.1f},{y:.1f}"

    series = [{"name": name, "colour": COLOURS[i % len(COLOURS)],
               "points": " ".join(point(k, losses[name]) for k, losses in history if name in losses)}
              for i, name in enumerate(names)]
    return {"series": series, "width": width, "height": height, "pad": pad, "x_max": x_max,
            "y_min": y_min, "y_max": y_max, "bottom": height - pad}
