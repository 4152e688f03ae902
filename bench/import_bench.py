"""Benchmark: importing a 150,000-row manifest (LESION130k has 132,673 rows).

    .venv/bin/python bench/import_bench.py [--rows 150000] [--database-url postgres://...]

Each measurement runs in its own process so that peak memory is its own: our bulk import of
the full manifest, the same import of a tenth of it (memory must not grow with the file), and a
naive baseline (one ORM create per row, in one transaction) on that tenth. Target: >= 20,000
rows/s and peak memory under 500 MB. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._django import peak_rss_mb, setup


def write_manifest(path: Path, rows: int, seed: int = 0) -> Path:
    """Rows like the real ones: long URLs, some with spaces, a few per cent defective."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write("## no label x_center y_center width height url\n")
        for i in range(rows):
            label = "melanocyticnevus" if rng.random() < 0.55 else "malignantmelanoma"
            w = 0.0 if rng.random() < 0.03 else round(rng.uniform(0.05, 0.9), 3)
            space = " photo" if rng.random() < 0.01 else ""
            url = f"https://img{rng.randrange(5000)}.example.org/wp-content/uploads/2019/{i:06d}/lesion{space}-{i}.jpg"
            f.write(f"{i:06d} {label} {rng.uniform(0, 1):.3f} {rng.uniform(0, 1):.3f} {w} "
                    f"{round(rng.uniform(0.05, 0.9), 3)} {url}\n")
    return path


def child(mode: str, rows: int, database_url: str | None) -> dict:
    setup(database_url)
    from datasets.models import Dataset

    Dataset.objects.filter(name__startswith="bench").delete()
    path = write_manifest(Path(tempfile.mkdtemp()) / "bench.csv", rows)
    started = time.perf_counter()
    if mode == "ours":
        from datasets.services import import_manifest

        summary = import_manifest(path=path, name="bench")
        imported = summary.imported
    else:
        imported = naive_import(path)
    elapsed = time.perf_counter() - started
    return {"rows": rows, "imported": imported, "seconds": round(elapsed, 3), "rows_per_s": round(rows / elapsed, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def naive_import(path: Path) -> int:
    """What a first version would do: parse each line, one INSERT per row."""
    from django.db import transaction

    from datasets.manifest import Row, read_manifest
    from datasets.models import Dataset, ImageRecord

    count = 0
    with transaction.atomic():
        dataset = Dataset.objects.create(name="bench-naive", kind="manifest", source=str(path))
        for item in read_manifest(path):
            if isinstance(item, Row):
                ImageRecord.objects.create(dataset=dataset, no=item.no, label=item.label, line=item.line, x=item.x,
                                           y=item.y, w=item.w, h=item.h, url=item.url)
                count += 1
    return count


def run_child(mode: str, rows: int, database_url: str | None) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--rows", str(rows)]
    if database_url:
        command += ["--database-url", database_url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=150_000, help="Rows in the big manifest (default 150000).")
    parser.add_argument("--database-url", help="Database to import into (default: a temporary SQLite file).")
    parser.add_argument("--child", choices=["ours", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.database_url)))
        return
    tenth = max(args.rows // 10, 1)
    big = run_child("ours", args.rows, args.database_url)
    small = run_child("ours", tenth, args.database_url)
    naive = run_child("naive", tenth, args.database_url)
    print(f"ours  {args.rows:>7} rows: {big['rows_per_s']:>9.0f} rows/s, peak {big['peak_rss_mb']:.0f} MB")
    print(f"ours  {tenth:>7} rows: {small['rows_per_s']:>9.0f} rows/s, peak {small['peak_rss_mb']:.0f} MB")
    print(f"naive {tenth:>7} rows: {naive['rows_per_s']:>9.0f} rows/s, peak {naive['peak_rss_mb']:.0f} MB")
    print(json.dumps({
        "rows": args.rows, "ours_rows_per_s": big["rows_per_s"], "baseline_rows_per_s": naive["rows_per_s"],
        "ratio": round(big["rows_per_s"] / naive["rows_per_s"], 2), "peak_rss_mb": big["peak_rss_mb"],
        "peak_rss_mb_at_tenth": small["peak_rss_mb"], "database": "postgresql" if args.database_url else "sqlite",
    }))


if __name__ == "__main__":
    main()
