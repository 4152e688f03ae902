"""The static export: the live templates, relative links that resolve, incremental, atomic, deterministic."""
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from seeds import exportfs
from seeds.export import export_seed_pages
from tests.seeds.factory import make_run, publish

pytestmark = pytest.mark.django_db
LINK = re.compile(r'(?:href|src)="([^"]+)"|data-frames="([^"]+)"')


@pytest.fixture
def published(media_root):
    make_run("mel", media_root)
    make_run("nev", media_root, label="nevus", weights_seed=1)
    publish("nev", "0-2")
    return publish("mel", "0-4", "--extra-psi", "0.5", "--morph", "0:1", "--morph-frames", "2",
                   "--counterpart", "nev")


def export(out: Path, seeds: str = "0-9", **options):
    return export_seed_pages(runs=["mel", "nev"], seeds=seeds, out=out, **options)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_export_holds_every_page_image_index_and_sitemap(tmp_path, published):
    summary = export(tmp_path / "site", base_url="https://example.org/moles")
    files = snapshot(tmp_path / "site")
    for path in ("index.html", "404.html", "sitemap.xml", "static/seeds.css", "static/seeds.js", "mel/index.html",
                 "mel/4/index.html", "nev/2/index.html", "mel/0/morph/1/index.html"):
        assert path in files, path
    assert "mel/5/index.html" not in files and "nev/3/index.html" not in files
    sha = published.checkpoint_sha256
    assert f"img/{sha}/psi1-const/seed0004.png" in files and f"img/{sha}/psi0.5-const/seed0004.webp" in files
    assert summary.written == len(files) - 1 and summary.skipped == 0  # all but the manifest
    page = files["mel/3/index.html"].decode()
    assert "not for diagnosis" in page and sha in page and "Melanoma, seed 3" in page
    assert f'content="https://example.org/moles/img/{sha}/psi1-const/seed0003.webp"' in page
    assert "<loc>https://example.org/moles/mel/3/</loc>" in files["sitemap.xml"].decode()


def test_every_relative_link_and_image_in_the_export_resolves_to_a_file_in_it(tmp_path, published):
    site = tmp_path / "site"
    export(site)
    checked = 0
    for html in site.rglob("*.html"):
        if html.name == "404.html":
            continue  # served at any address: its links are relative to the root
        for match in LINK.finditer(html.read_text()):
            for link in (match.group(1) or match.group(2)).split():
                if link == "data:,":
                    continue  # the empty favicon, inline
                assert not link.startswith(("/", "http:", "https:")), f"{html}: {link} is not relative"
                target = (html.parent / link).resolve()
                assert target.is_file() and site.resolve() in target.parents, f"{html}: {link}"
                checked += 1
    assert checked > 100


def test_two_exports_of_the_same_inputs_are_byte_identical(tmp_path, published):
    export(tmp_path / "a")
    export(tmp_path / "b", workers=2)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_a_second_run_writes_nothing(tmp_path, published):
    site = tmp_path / "site"
    export(site)
    inodes = {p: p.stat().st_ino for p in site.rglob("*")}
    again = export(site)
    files = [p for p in inodes if p.is_file() and p.name != ".manifest.json"]
    assert again.written == 0 and again.removed == 0 and again.skipped == len(files)
    assert {p: p.stat().st_ino for p in site.rglob("*")} == inodes


def test_a_template_change_rebuilds_the_pages_and_keeps_the_images(tmp_path, published, settings):
    site = tmp_path / "site"
    export(site)
    templates = tmp_path / "templates"
    shutil.copytree(Path(django_settings.BASE_DIR) / "templates" / "seeds", templates / "seeds")
    base = templates / "seeds" / "base.html"
    base.write_text(base.read_text().replace("<main>", "<main><p>Changed</p>"))
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [templates, *settings.TEMPLATES[0]["DIRS"]]}]
    summary = export(site)
    pages = list(site.rglob("*.html"))
    assert summary.written == len(pages) and summary.skipped > 0, "images and static files are kept"
    assert all("<p>Changed</p>" in p.read_text() for p in pages)


def test_files_no_longer_produced_are_removed(tmp_path, published):
    site = tmp_path / "site"
    export(site, base_url="https://example.org/moles")
    summary = export(site, seeds="0-2", base_url="https://example.org/moles")
    assert summary.removed > 0 and not (site / "mel" / "4").exists() and (site / "mel" / "2" / "index.html").is_file()
    assert "mel/4/" not in (site / "sitemap.xml").read_text()
    assert "../2/index.html" in (site / "mel" / "0" / "index.html").read_text(), "prev of seed 0 wraps to seed 2"


def test_an_export_killed_midway_leaves_the_previous_one_in_place(tmp_path, published, monkeypatch):
    site = tmp_path / "site"
    export(site, seeds="0-2")
    before = snapshot(site)
    made = []

    def dies_after_three(item, root):
        if len(made) == 3:
            raise SystemExit("killed")
        made.append(item.path)
        return real_make(item, root)

    real_make = exportfs.make
    monkeypatch.setattr(exportfs, "make", dies_after_three)
    with pytest.raises(SystemExit):
        export(site, seeds="0-4")
    assert snapshot(site) == before and list(tmp_path.glob(".site.building-*"))
    monkeypatch.setattr(exportfs, "make", real_make)
    export(site, seeds="0-4")
    assert (site / "mel" / "4" / "index.html").is_file() and not list(tmp_path.glob(".site.building-*"))


def test_the_command_prints_a_summary_and_rejects_bad_flags(tmp_path, published, capsys):
    call_command("export_seed_pages", "--runs", "mel,nev", "--seeds", "0-9", "--out", str(tmp_path / "s"), "-v", "0")
    assert re.search(r"s: \d+ files written, 0 skipped, 0 removed, [\d,]+ bytes in all", capsys.readouterr().out)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    for args, message in [
        (["--runs", "mel,ghost"], "--runs: no run named 'ghost'"),
        (["--runs", "mel", "--seeds", "50-60"], "--runs: 'mel' has no published seeds in 50-60"),
        (["--runs", "mel", "--seeds", "x"], "--seeds: 'x' is not a seed or a range"),
        (["--runs", "mel", "--workers", "0"], "--workers: must be a whole number >= 1, got '0'"),
        (["--runs", "mel", "--base-url", "example.org"], "--base-url: 'example.org' is not an http"),
        (["--runs", "mel", "--out", str(tmp_path / "mine")], "exists and is not a seed-page export"),
        (["--runs", "mel", "--out", "/proc/site"], "--out: cannot write the export at /proc/site"),
    ]:
        argv = {"--seeds": "0-9", "--out": str(tmp_path / "new"), **dict(zip(args[::2], args[1::2]))}
        with pytest.raises(CommandError, match=re.escape(message)):
            call_command("export_seed_pages", *[x for pair in argv.items() for x in pair], "-v", "0")
    assert not (tmp_path / "new").exists() and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_new_checkpoint_rebuilds_that_runs_pages_and_keeps_the_others(tmp_path, published, media_root):
    from generator.models import TrainingRun
    from tests.seeds.factory import make_checkpoint

    site = tmp_path / "site"
    export(site)
    nev_page = (site / "nev" / "1" / "index.html").stat().st_ino
    run = TrainingRun.objects.get(name="mel")
    run.latest_checkpoint = str(make_checkpoint(media_root / "gan-runs/mel/checkpoint-000002.000kimg.pt", 9))
    run.save()
    new = publish("mel", "0-4")
    summary = export(site)
    assert summary.written > 0 and summary.skipped > 0 and summary.removed > 0, "old images leave the export"
    assert new.checkpoint_sha256 in (site / "mel" / "1" / "index.html").read_text()
    assert not (site / "img" / published.checkpoint_sha256 / "psi1-const" / "seed0001.png").exists()
    assert (site / "nev" / "1" / "index.html").stat().st_ino == nev_page, "nev's pages did not change"
