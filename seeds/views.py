"""The live seed pages: a random redirect, one page per (run, seed), morphs, run indexes and images.

Pages are rendered from published rows only (no torch, no rendering on request) and kept in the
cache for a minute, one copy per language (Django's cache key holds the active language); images are
immutable files named by their key, served with a year-long cache header and an ETag. Anything not
published is the site's 404 page.
"""
from __future__ import annotations

import re

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import cache_page, never_cache
from django.views.decorators.vary import vary_on_cookie

from cansite.web import immutable_file, int_param
from generator.models import TrainingRun

from . import keys, pages
from .links import LiveLinks
from .selectors import RunSeeds, all_run_seeds, counterpart_of, random_seed

SEED = re.compile(r"[0-9]{1,10}")  # ASCII digits only; seeds are below 2**32
PAGE_CACHE_S = 60


def published(name: str) -> RunSeeds:
    seeds = RunSeeds.of(get_object_or_404(TrainingRun, name=name))
    if not seeds:
        raise Http404("nothing published")
    return seeds


def seed_number(text: str) -> int:
    if not SEED.fullmatch(text):
        raise Http404("not a seed")
    return int(text)


def cached_page(view):
    """The server keeps each page a minute per language. A browser or proxy keeps it too (max-age), so it is
    told that the page varies with the cookie that holds the visitor's choice of language: without that,
    a page seen before switching comes back from the browser's cache in the old language. Outside the
    server's cache, so that its key stays one copy per language, not one per visitor."""
    return vary_on_cookie(cache_page(PAGE_CACHE_S)(view))


def html(template: str, context: dict) -> HttpResponse:
    return HttpResponse(render_to_string(f"seeds/{template}", context))


@never_cache
def random_page(request):
    picked = random_seed()
    if picked is None:  # nothing published yet: the index says so (the home page links here always)
        return HttpResponseRedirect(reverse("seeds:index"))
    return HttpResponseRedirect(reverse("seeds:page", args=[picked[0], picked[1]]))


@cached_page
def index(request):
    return html("index.html", pages.top_index(all_run_seeds(), LiveLinks()))


@cached_page
def run_index(request, run: str):
    seeds = published(run)
    page = int_param(request.GET, "page", low=1, high=pages.page_count(seeds)) or 1
    return html("run_index.html", pages.run_index(seeds, page, LiveLinks()))


@cached_page
def seed_page(request, run: str, seed: str):
    seeds, number = published(run), seed_number(seed)
    if seeds.publication(number) is None:
        raise Http404("seed not published")
    other = counterpart_of(seeds.run)
    return html("page.html", pages.seed_page(seeds, number, LiveLinks(), RunSeeds.of(other) if other else None))


@cached_page
def morph(request, run: str, seed: str, other: str):
    seeds, a, b = published(run), seed_number(seed), seed_number(other)
    pub = next((p for x, y, p in seeds.morph_pairs() if (x, y) == (a, b)), None)
    if pub is None:
        raise Http404("morph not published")
    return html("morph.html", pages.morph_page(seeds, a, b, pub, LiveLinks()))


def image(request, sha256: str, variant: str, name: str):
    """A published image file; its path is its key, so it never changes: cache it for a year."""
    if not keys.is_image_path(sha256, variant, name):
        raise Http404("not an image name")
    path = keys.root() / sha256 / variant / name
    return immutable_file(request, path, keys.CONTENT_TYPES[path.suffix], f"{sha256[:16]}-{variant}-{name}")
