"""ROC curves as inline SVG (one polyline per model), on the unit square."""
from __future__ import annotations

COLOURS = ["#7a2e3b", "#2f5d8a", "#2f7a46", "#a66a00", "#6b4a9b", "#555", "#c0392b", "#16a085", "#8e44ad", "#d35400"]


def roc_chart(curves: list[tuple[str, dict | None]], size: int = 320, pad: int = 28) -> dict:
    inner = size - 2 * pad

    def point(fpr: float, tpr: float) -> str:
        return f"{pad + inner * fpr:.1f},{pad + inner * (1 - tpr):.1f}"

    series = [{"name": name, "colour": COLOURS[i % len(COLOURS)],
               "points": " ".join(point(f, t) for f, t in zip(roc["fpr"], roc["tpr"]))}
              for i, (name, roc) in enumerate(curves) if roc]
    return {"series": series, "size": size, "pad": pad, "end": size - pad,
            "diagonal": f"{point(0, 0)} {point(1, 1)}"}
