"""The shared library stays pure: importing it loads no Django, Redis or web code, and not torch."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULES = ("common", "common.devices", "common.files", "common.flags", "common.images", "common.labels",
           "common.seeds")


def test_importing_the_shared_library_loads_no_django_redis_or_torch():
    code = (f"import sys; import {', '.join(MODULES)}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('django', 'redis', 'rq', 'django_rq', 'torch', 'cansite', 'datasets', 'generator', 'seeds', "
            "'turing', 'classifier')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"


def test_every_module_of_the_library_is_named_here():
    found = {f"common.{p.stem}" for p in (REPO / "common").glob("*.py") if p.stem != "__init__"}
    assert found == set(MODULES) - {"common"}
