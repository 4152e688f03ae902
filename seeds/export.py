"""The static export of the seed pages: the live templates rendered into a folder any server can host.

    summary = export_seed_pages(runs=["mel", "nev"], seeds="0-4999", out=Path("site"), workers=4,
                                base_url="https://example.org/moles")

Every page is rendered from the same template files and the same context functions (seeds.pages)
as the live site, with `StaticLinks`, so links are relative and the folder works under any prefix
and from file://; but 404.html, which a server sends for any missing address at any depth, carries
its stylesheet inline and links from --base-url (or from the server's root without one). The layout:

    index.html  404.html  sitemap.xml  .manifest.json  static/seeds.css  static/seeds.js
    (sitemap.xml only with --base-url: a sitemap's <loc> must be an absolute URL)
    <run>/index.html  <run>/page2.html ...            thumbnails of the run, paged
    <run>/<seed>/index.html                           a seed page
    <run>/<seed>/morph/<other>/index.html             a morph page
    img/<checkpoint sha256>/<psi>-<noise>/...         the images, named by their key
    ko/...  es/...                                    the same pages (404.html too) in each other language

English, the default language, keeps the root; every page links its other languages (a switcher of links,
since there is no server to remember a choice, and <link rel="alternate" hreflang> tags). Images and static
files are shared. A run named like a top folder (img, static, ko, es) would clash, and is refused.

Incremental, atomic and deterministic: see seeds.exportfs.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import translation

from generator.models import TrainingRun

from . import keys, pages
from .exportfs import Item, Summary, build, inputs_hash
from .links import STATIC_FILES, StaticLinks, export_path, localized
from .models import SeedProfile
from .selectors import RunSeeds, all_run_seeds
from .services import PublishError, parse_seed_range

CODE = ("pages.py", "links.py", "export.py", "keys.py", "selectors.py")
TEMPLATES = ("index.html", "run_index.html", "page.html", "morph.html", "not_found.html", "base.html")


class ExportError(ValueError):
    """The export cannot be made as asked; the message names the flag."""


def templates_fingerprint() -> str:
    """A hash of the seed templates' sources: editing any of them rebuilds every page."""
    digest = hashlib.sha256()
    for name in TEMPLATES:
        for folder in settings.TEMPLATES[0]["DIRS"]:
            path = Path(folder) / "seeds" / name
            if path.is_file():
                digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def languages() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def export_languages(chosen: list[str] | None) -> tuple[str, ...]:
    """The languages to export (None: all of the site's), in settings order; the default one always, since
    its tree is the export's root that the others link to."""
    if chosen is None:
        return tuple(languages())
    unknown = next((code for code in chosen if code not in languages()), None)
    if unknown is not None:
        raise ExportError(f"--languages: {unknown!r} is not one of the site's languages ({', '.join(languages())})")
    if settings.LANGUAGE_CODE not in chosen:
        raise ExportError(f"--languages: include {settings.LANGUAGE_CODE!r}, the language of the export's root")
    return tuple(code for code in languages() if code in chosen)


def catalogue(language: str) -> Path | None:
    """The compiled catalogue a language's pages are rendered with (None for the default: its own text)."""
    if language == settings.LANGUAGE_CODE:
        return None
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.mo"


def catalogue_fingerprint(language: str) -> str:
    """A hash of the language's compiled catalogue: a changed translation rebuilds that language's pages."""
    path = catalogue(language)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else ""


def code_fingerprint() -> str:
    """The templates, the catalogues, the static files and the code that makes the pages' contexts and paths."""
    here = Path(__file__).parent
    parts = [templates_fingerprint()] + [(here / name).read_bytes().hex() for name in CODE]
    parts += [Path(finders.find(name)).read_bytes().hex() for name in STATIC_FILES]
    parts += [catalogue_fingerprint(language) for language in languages()]
    return inputs_hash(parts)


class NotFoundLinks(StaticLinks):
    """The links of 404.html, which is served in place of any missing page, so a relative link would
    resolve against that page's folder: the stylesheet inline (a data: URL), no script, and page links
    absolute from --base-url, or from the server's root when there is none."""

    def href(self, kind: str, *args) -> str:
        if kind == "static":
            if not args[0].endswith(".css"):
                return "data:text/javascript,"  # the keyboard script is for seed pages
            data = Path(finders.find(args[0])).read_bytes()
            return "data:text/css;base64," + base64.b64encode(data).decode()
        path = self.target(kind, *args).removesuffix("index.html")
        return f"{self.base_url}/{path}" if self.base_url else f"/{path}"

    def alternates(self) -> list[dict]:
        """No page of the other languages is this missing page: the switcher leads to their front pages."""
        return [{**link, "href": NotFoundLinks("index.html", self.base_url, None, link["code"]).href("index"),
                 "url": ""} for link in super().alternates()]


def validated(runs: list[str], seeds: str, out: Path, workers: int, base_url: str,
              exported: tuple[str, ...]) -> tuple[int, int]:
    try:
        window = parse_seed_range(seeds)
    except PublishError as exc:
        raise ExportError(str(exc)) from None
    if not runs:
        raise ExportError("--runs: name at least one run")
    known = set(TrainingRun.objects.filter(name__in=runs).values_list("name", flat=True))
    missing = [name for name in runs if name not in known]
    if missing:
        raise ExportError(f"--runs: no run named {missing[0]!r}")
    if workers < 1:
        raise ExportError(f"--workers: {workers} is not a positive number")
    url = urlparse(base_url)
    if base_url and (url.scheme not in ("http", "https") or not url.netloc):
        raise ExportError(f"--base-url: {base_url!r} is not an http(s) URL")
    clash = next((name for name in runs if name in ("img", "static", *languages())), None)
    if clash:
        raise ExportError(f"--runs: a run named {clash!r} would share the export's folder {clash}/ "
                          "(images, static files and languages live there)")
    missing_catalogue = next((path for path in map(catalogue, exported) if path and not path.is_file()), None)
    if missing_catalogue:
        raise ExportError(f"{missing_catalogue}: the catalogue is not compiled (run `make messages`)")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / ".manifest.json").is_file())):
        raise ExportError(f"--out: {out} exists and is not a seed-page export (it would be replaced)")
    return window


def plan(all_seeds: list[RunSeeds], base_url: str, exported: tuple[str, ...]) -> list[Item]:
    """Every file of the export, each with the hash of what its bytes depend on."""
    counterparts = counterparts_of(all_seeds)
    items: list[Item] = []
    images: dict[str, Item] = {}
    for language in exported:
        with translation.override(language):  # the contexts' strings (each page renders in it too: Item.language)
            plan_language(language, exported, all_seeds, counterparts, base_url, items, images)
    items += sorted(images.values(), key=lambda item: item.path)
    for name in STATIC_FILES:
        data = Path(finders.find(name)).read_bytes()
        items.append(Item(f"static/{name}", inputs_hash(hashlib.sha256(data).hexdigest()), data=data))
    if base_url:  # a sitemap of relative <loc>s is invalid: none without an address to put in front
        listed = [item.path for item in items if item.path.endswith(".html") and not is_not_found(item.path)]
        sitemap = sitemap_xml(listed, base_url)
        items.append(Item("sitemap.xml", inputs_hash(sitemap), data=sitemap.encode()))
    return items


def plan_language(language: str, exported: tuple[str, ...], all_seeds: list[RunSeeds], counterparts: dict,
                  base_url: str, items: list, images: dict) -> None:
    """The pages of one language's tree (the images are gathered once, in `images`)."""
    fingerprint = inputs_hash(templates_fingerprint(), language, catalogue_fingerprint(language))

    def page(template: str, here: str, context: dict) -> None:
        items.append(Item(localized(here, language), inputs_hash(fingerprint, template, context),
                          template=f"seeds/{template}", context=context, language=language))

    def links(here: str, random_target: tuple | None = None) -> StaticLinks:
        return StaticLinks(here, base_url, random_target, language, exported)

    first = all_seeds[0]
    page("index.html", "index.html",
         pages.top_index(all_seeds, links("index.html", (first.run.name, first.stable_random(first.nth(0))))))
    page("not_found.html", "404.html", pages.not_found(NotFoundLinks("404.html", base_url, None, language, exported)))
    for seeds in all_seeds:
        plan_run(seeds, counterparts.get(seeds.run.name), links, page, images)


def plan_run(seeds: RunSeeds, counterpart: RunSeeds | None, links, page, images: dict) -> None:
    run, root = seeds.run.name, str(keys.root())
    for number in range(1, pages.page_count(seeds) + 1):
        here = export_path("run_index", run, number)
        page("run_index.html", here, pages.run_index(seeds, number, links(here)))
    for i in range(seeds.count):
        seed = seeds.nth(i)
        here = export_path("page", run, seed)
        context = pages.seed_page(seeds, seed, links(here, (run, seeds.stable_random(seed))), counterpart)
        page("page.html", here, context)
        pub = seeds.publication(seed)
        for psi in [pub.psi, *pub.extra_psi]:
            add_image(images, pages.image_target(pub, psi, keys.seed_file(seed, "webp")), root)
        add_image(images, pages.image_target(pub, pub.psi, keys.seed_file(seed, "png")), root)
    for a, b, pub in seeds.morph_pairs():
        here = export_path("morph", run, a, b)
        page("morph.html", here, pages.morph_page(seeds, a, b, pub, links(here)))
        for frame in range(pub.morph_frames):
            add_image(images, pages.image_target(pub, pub.psi, keys.morph_file(a, b, frame)), root)


def add_image(images: dict, target: str, root: str) -> None:
    # The path is the image's key (checkpoint sha256, psi, noise, seed): the same path is the same bytes,
    # so the key alone is its inputs (no need to read or even stat the file on a no-change run).
    path = "img/" + target
    images[path] = Item(path, target, source=f"{root}/{target}")


def counterparts_of(all_seeds: list[RunSeeds]) -> dict[str, RunSeeds]:
    by_name = {seeds.run.name: seeds for seeds in all_seeds}
    profiles = SeedProfile.objects.filter(run__name__in=by_name).select_related("run", "counterpart")
    return {p.run.name: by_name[p.counterpart.name] for p in profiles
            if p.counterpart and p.counterpart.name in by_name}


def is_not_found(path: str) -> bool:
    return path.rsplit("/", 1)[-1] == "404.html"


def sitemap_xml(paths: list[str], base_url: str) -> str:
    def loc(path: str) -> str:
        path = path[: -len("index.html")] if path.endswith("index.html") else path
        return f"{base_url.rstrip('/')}/{path}"

    urls = "".join(f"  <url><loc>{escape(loc(p))}</loc></url>\n" for p in sorted(paths))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n")


def export_seed_pages(*, runs: list[str], seeds: str, out: Path, workers: int = 1, base_url: str = "",
                      languages: list[str] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Summary:
    """Write (or bring up to date) the static site of the runs' published seeds inside `seeds`, in
    `languages` (None: every language of the site)."""
    out = Path(out)
    exported = export_languages(languages)
    window = validated(runs, seeds, out, workers, base_url, exported)
    all_seeds = all_run_seeds(runs, window)
    empty = [name for name in runs if name not in {s.run.name for s in all_seeds}]
    if empty:
        raise ExportError(f"--runs: {empty[0]!r} has no published seeds in {seeds} (run publish_seeds first)")
    digest = inputs_hash(code_fingerprint(), base_url, window, exported, [run_state(s) for s in all_seeds],
                         sorted((a, b.run.name) for a, b in counterparts_of(all_seeds).items()))
    try:
        return build(out, lambda: plan(all_seeds, base_url, exported), digest=digest, workers=workers,
                     progress=progress or (lambda done, total: None))
    except OSError as exc:  # the folder cannot be written (missing parent, read-only, full disk)
        raise ExportError(f"--out: cannot write the export at {out}: {exc.strerror or exc}") from None


def run_state(seeds: RunSeeds) -> list:
    """Everything of a run that its pages show (the export's digest: unchanged, nothing to plan)."""
    fields = ("id", "checkpoint_sha256", "kimg", "resolution", "seed_lo", "seed_hi", "psi", "extra_psi",
              "noise_mode", "morph_pairs", "morph_frames")
    return [seeds.run.name, seeds.run.label, seeds.ranges,
            [[getattr(pub, name) for name in fields] for pub in seeds.publications]]
