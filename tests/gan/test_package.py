"""The GAN package stays pure: importing every module of it loads no Django, Redis, queue or app code."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import generator.gan

REPO = Path(__file__).resolve().parents[2]
# What the package must never pull in: the web stack, the queue, and the Django apps around it.
FORBIDDEN = ("django", "redis", "rq", "django_rq", "cansite", "datasets", "seeds", "classifier", "turing", "home")


def test_every_module_of_the_package_imports_without_django_redis_or_the_apps():
    names = sorted(m.name for m in pkgutil.walk_packages(generator.gan.__path__, "generator.gan."))
    assert "generator.gan.train" in names and "generator.gan.cli" in names
    code = (f"import importlib, sys; [importlib.import_module(n) for n in {names!r}]; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
            f"or m.startswith('generator.') and not m.startswith('generator.gan')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"
