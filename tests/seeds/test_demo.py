"""The demo's seed step: publishes both class runs as counterparts, exports them, says where to open it."""
import pytest

from seeds.demo import demo_step
from seeds.models import Publication
from tests.seeds.factory import make_run

pytestmark = pytest.mark.django_db


def test_the_demo_step_publishes_pairs_and_exports_and_a_second_run_does_nothing_new(media_root, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    make_run("demo-tiny-melanoma", media_root)
    make_run("demo-tiny-nevus", media_root, label="nevus", weights_seed=1)
    lines = []
    demo_step(write=lines.append, seeds=3)
    page = (tmp_path / "seed-site" / "demo-tiny-melanoma" / "1" / "index.html").read_text()
    assert "../../demo-tiny-nevus/1/index.html" in page and "psi 0.5" in page and "morph/2/index.html" in page
    assert any((tmp_path / "seed-site" / "index.html").as_uri() in line for line in lines)
    demo_step(write=lines.append, seeds=3)
    assert Publication.objects.count() == 2 and "0 files written" in lines[-2]
