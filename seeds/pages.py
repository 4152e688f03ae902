"""What each seed-site page shows, as plain data: the one source for the live views and the export.

Each function takes the published seeds it reads (selectors.RunSeeds) and a links object (links.py)
and returns a template context of strings and numbers only, so that the export can hash it (its
manifest's "inputs") and hand it to worker processes. Visible strings are made in the active language
(the live request's, or the one the export renders), so a context belongs to one language.
"""
from __future__ import annotations

import math

from django.utils.translation import gettext, gettext_lazy

from cansite.i18n import label_name

from . import keys
from .links import PAGE_SIZE
from .models import Publication
from .selectors import RunSeeds

NOTE = gettext_lazy("This image was made by a generative model. It shows no real person's skin and is not for "
                    "diagnosis or medical advice.")
SITE_NAME = gettext_lazy("This mole does not exist")


def class_name(run) -> str:
    """The run's class as visitors read it (its label was normalised when the run was made)."""
    return label_name(run.label) if run.label else gettext("unlabelled")


def image_target(pub: Publication, psi: float, name: str) -> str:
    return keys.image_path(pub.checkpoint_sha256, psi, pub.noise_mode, name)


def common(links, title: str) -> dict:
    alternates = links.alternates()  # the export's language switcher, and its <link rel="alternate"> tags
    return {"title": title, "note": str(NOTE), "site_name": str(SITE_NAME), "static_site": links.static_site,
            "alternates": alternates, "head_alternates": alternates,
            "css": links.href("static", "seeds.css"), "js": links.href("static", "seeds.js"),
            "home": "" if links.static_site else links.href("home"), "top": links.href("index")}


def provenance(pub: Publication) -> dict:
    return {"kimg": round(pub.kimg, 3), "sha256": pub.checkpoint_sha256, "psi": pub.psi,
            "noise_mode": pub.noise_mode, "resolution": pub.resolution}


def seed_page(seeds: RunSeeds, seed: int, links, counterpart: RunSeeds | None = None) -> dict:
    """The context of /<run>/<seed>/; the caller has checked that the seed is published."""
    run, pub = seeds.run.name, seeds.publication(seed)
    prev_seed, next_seed = seeds.neighbours(seed)
    image = image_target(pub, pub.psi, keys.seed_file(seed, "webp"))
    context = {
        **common(links, gettext("%(class_name)s · seed %(seed)s · %(run)s") % {
            "class_name": class_name(seeds.run), "seed": seed, "run": run}),
        "run": run, "seed": seed, "class_name": class_name(seeds.run), **provenance(pub),
        "image": links.href("image", image), "download": links.href("image", image[:-4] + "png"),
        "prev": links.href("page", run, prev_seed), "next": links.href("page", run, next_seed),
        "prev_seed": prev_seed, "next_seed": next_seed, "random": links.href("random"),
        "run_index": links.href("run_index", run, 1 + seeds.index_of(seed) // PAGE_SIZE),
        "run_page": links.run_page(run), "og_url": links.absolute("page", run, seed),
        "og_image": links.absolute("image", image),
        "extra": [{"psi": psi, "src": links.href("image", image_target(pub, psi, keys.seed_file(seed, "webp")))}
                  for psi in pub.extra_psi],
        "morphs": [{"other": b, "href": links.href("morph", run, a, b)}
                   for a, b, _ in seeds.morph_pairs() if a == seed],
        "counterpart": None,
    }
    if counterpart is not None and counterpart.publication(seed) is not None:
        context["counterpart"] = {"run": counterpart.run.name, "class_name": class_name(counterpart.run),
                                  "href": links.href("page", counterpart.run.name, seed)}
    return context


def morph_page(seeds: RunSeeds, a: int, b: int, pub: Publication, links) -> dict:
    run = seeds.run.name
    targets = [image_target(pub, pub.psi, keys.morph_file(a, b, i)) for i in range(pub.morph_frames)]
    title = gettext("%(class_name)s · morph %(a)s → %(b)s · %(run)s") % {
        "class_name": class_name(seeds.run), "a": a, "b": b, "run": run}
    return {**common(links, title),
            "run": run, "a": a, "b": b, "class_name": class_name(seeds.run), **provenance(pub),
            "frames": [links.href("image", t) for t in targets], "last_frame": len(targets) - 1,
            "page_a": links.href("page", run, a), "page_b": links.href("page", run, b),
            "og_url": links.absolute("morph", run, a, b), "og_image": links.absolute("image", targets[0])}


def page_count(seeds: RunSeeds) -> int:
    return max(1, math.ceil(seeds.count / PAGE_SIZE))


def run_index(seeds: RunSeeds, page: int, links) -> dict:
    """One page of a run's thumbnails (PAGE_SIZE seeds), with links to the other pages."""
    run, pages = seeds.run.name, page_count(seeds)
    first = (page - 1) * PAGE_SIZE
    thumbs = []
    for i in range(first, min(first + PAGE_SIZE, seeds.count)):
        seed = seeds.nth(i)
        pub = seeds.publication(seed)
        thumbs.append({"seed": seed, "href": links.href("page", run, seed),
                       "src": links.href("image", image_target(pub, pub.psi, keys.seed_file(seed, "webp")))})
    latest = seeds.publications[0]
    title = gettext("%(class_name)s · %(run)s · page %(page)s of %(pages)s") % {
        "class_name": class_name(seeds.run), "run": run, "page": page, "pages": pages}
    return {**common(links, title),
            "run": run, "class_name": class_name(seeds.run), "page": page, "pages": pages, "thumbs": thumbs,
            "ranges": [f"{lo}–{hi}" if hi > lo else str(lo) for lo, hi in seeds.ranges], "count": seeds.count,
            **provenance(latest), "run_page": links.run_page(run),
            "prev_page": links.href("run_index", run, page - 1) if page > 1 else "",
            "next_page": links.href("run_index", run, page + 1) if page < pages else "",
            "og_url": links.absolute("run_index", run, page), "og_image": ""}


def top_index(all_seeds: list[RunSeeds], links, per_run: int = 6) -> dict:
    runs = []
    for seeds in all_seeds:
        sample = run_index(seeds, 1, links)["thumbs"][:per_run]
        runs.append({"run": seeds.run.name, "class_name": class_name(seeds.run), "count": seeds.count,
                     "href": links.href("run_index", seeds.run.name, 1), "thumbs": sample,
                     "ranges": [f"{lo}–{hi}" if hi > lo else str(lo) for lo, hi in seeds.ranges]})
    return {**common(links, str(SITE_NAME)), "runs": runs,
            "random": links.href("random") if all_seeds else "", "og_url": links.absolute("index"), "og_image": ""}


def not_found(links) -> dict:
    return {**common(links, gettext("Not found · this mole does not exist")), "og_url": "", "og_image": "",
            "head_alternates": []}  # a missing page has no versions in other languages
