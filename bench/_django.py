"""Set up Django for a benchmark on a throw-away database (SQLite by default) and MEDIA_ROOT."""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup(database_url: str | None = None) -> Path:
    """Point Django at a fresh database and a temporary var/ folder; returns that folder."""
    work = Path(tempfile.mkdtemp(prefix="cansite-bench-"))
    os.environ["VAR_DIR"] = str(work)
    os.environ["MEDIA_ROOT"] = str(work / "media")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cansite.settings")
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return work


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
