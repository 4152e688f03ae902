"""Inline SVG charts for the results page, as shapes a template draws (no JavaScript, no library).

Each chart is a dict: width, height, and lists of lines, dots and texts in pixel coordinates.
Proportions run from 0 (bottom) to 1 (top); a dashed line marks chance (50%).
"""
from __future__ import annotations

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 40, 10, 10, 30


def y_of(value: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value), 1)


def frame(title: str, chance: bool = True) -> dict:
    chart = {"title": title, "width": WIDTH, "height": HEIGHT, "lines": [], "dots": [], "texts": [], "polyline": ""}
    for tick in (0, 0.25, 0.5, 0.75, 1):
        chart["texts"].append({"x": LEFT - 6, "y": y_of(tick) + 4, "text": f"{tick:.0%}", "anchor": "end"})
        chart["lines"].append({"x1": LEFT, "y1": y_of(tick), "x2": WIDTH - RIGHT, "y2": y_of(tick),
                               "cls": "chance" if chance and tick == 0.5 else "grid"})
    return chart


def x_slots(count: int) -> list[float]:
    step = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return [round(LEFT + step * (i + 0.5), 1) for i in range(count)]


def interval_chart(title: str, points: list[dict], join: bool = False, every: int = 1) -> dict:
    """points: label, value and ci (low, high) or None value (nothing drawn)."""
    chart = frame(title)
    for i, (x, point) in enumerate(zip(x_slots(len(points)), points)):
        if i % every == 0:
            chart["texts"].append({"x": x, "y": HEIGHT - 10, "text": point["label"], "anchor": "middle"})
        if point["value"] is None:
            continue
        low, high = point["ci"]
        chart["lines"].append({"x1": x, "y1": y_of(low), "x2": x, "y2": y_of(high), "cls": "ci"})
        chart["dots"].append({"cx": x, "cy": y_of(point["value"]), "r": 3.5, "cls": "point",
                              "title": f"{point['label']}: {point['value']:.1%} [{low:.1%}, {high:.1%}]"})
    if join:
        chart["polyline"] = " ".join(f"{d['cx']},{d['cy']}" for d in chart["dots"])
    return chart


def strip_chart(title: str, groups: dict[str, list[dict]]) -> dict:
    """One column of dots per group (truth), spread sideways so that equal rates stay visible."""
    chart = frame(title, chance=True)
    slots = x_slots(len(groups))
    width = (WIDTH - LEFT - RIGHT) / max(len(groups), 1) * 0.6
    for x, (name, images) in zip(slots, groups.items()):
        chart["texts"].append({"x": x, "y": HEIGHT - 10, "text": f"{name} ({len(images)})", "anchor": "middle"})
        for i, image in enumerate(images):
            offset = ((i * 0.618) % 1 - 0.5) * width  # golden-ratio spread: even, and the same on every load
            chart["dots"].append({"cx": round(x + offset, 1), "cy": y_of(image["real_rate"]), "r": 3,
                                  "cls": name, "title": f"{image['token']}: judged real {image['real_rate']:.0%}"})
    return chart


def results_charts(data: dict) -> list[dict]:
    per_set = [{"label": str(s["number"]), "value": s["groups"]["all"]["accuracy"],
                "ci": s["groups"]["all"]["accuracy_ci"]} for s in data["sets"]]
    positions = [{"label": str(p["position"]), "value": p["accuracy"], "ci": p["ci"]} for p in data["by_position"]]
    groups = {truth: [i for i in data["images"] if i["truth"] == truth] for truth in ("real", "synthetic")}
    return [
        interval_chart("Accuracy per set, with 95% Wilson intervals", per_set),
        strip_chart("How often each image was judged real", groups),
        interval_chart("Accuracy by trial position (does anyone learn?)", positions, join=True,
                       every=max(1, len(positions) // 20)),
    ]
