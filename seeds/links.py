"""Every URL a seed page holds, made in one place, for the live site or for the static export.

Templates never build URLs: a page's context carries them ready-made. `LiveLinks` gives the live
site's paths (`reverse`) and absolute URLs from settings.SITE_URL; `StaticLinks(here)` gives paths
relative to the export file `here`, so the export works under any prefix and from file://, and
absolute URLs only when the export has a --base-url. Both take the same "targets".
"""
from __future__ import annotations

import posixpath

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

PAGE_SIZE = 60  # thumbnails per run index page
STATIC_FILES = ("seeds.css", "seeds.js")


class LiveLinks:
    static_site = False

    def href(self, kind: str, *args) -> str:
        if kind == "static":
            return static(args[0])
        if kind == "home":
            return reverse("home")
        if kind == "run_index":
            run, page = args
            return reverse("seeds:run", args=[run]) + (f"?page={page}" if page > 1 else "")
        if kind == "image":
            sha, variant, name = args[0].split("/")
            return reverse("seeds:image", args=[sha, variant, name])
        if kind == "random":
            return reverse("seeds:random")
        return reverse(f"seeds:{kind}", args=[str(a) for a in args])

    def absolute(self, kind: str, *args) -> str:
        return settings.SITE_URL + self.href(kind, *args)

    def run_page(self, run: str) -> str:
        return reverse("generator:run", args=[run])


def export_path(kind: str, *args) -> str:
    """The file a target is in the static export (relative to its root)."""
    if kind == "static":
        return f"static/{args[0]}"
    if kind in ("index", "home"):
        return "index.html"
    if kind == "run_index":
        run, page = args
        return f"{run}/index.html" if page == 1 else f"{run}/page{page}.html"
    if kind == "page":
        return f"{args[0]}/{args[1]}/index.html"
    if kind == "morph":
        return f"{args[0]}/{args[1]}/morph/{args[2]}/index.html"
    if kind == "image":
        return f"img/{args[0]}"
    if kind == "not_found":
        return "404.html"
    raise ValueError(f"no export path for {kind!r}")


def relative(target: str, folder: list[str]) -> str:
    """`target` (a path from the export root) as seen from the export folder `folder` (its parts).
    posixpath.relpath does the same but asks the OS for the working directory on every call."""
    parts = target.split("/")
    common = 0
    while common < min(len(folder), len(parts) - 1) and folder[common] == parts[common]:
        common += 1
    return "../" * (len(folder) - common) + "/".join(parts[common:])


class StaticLinks:
    static_site = True

    def __init__(self, here: str, base_url: str = "", random_target: tuple | None = None):
        self.here, self.base_url, self.random_target = here, base_url.rstrip("/"), random_target
        self.folder = [part for part in posixpath.dirname(here).split("/") if part]

    def href(self, kind: str, *args) -> str:
        if kind == "random":  # no server to pick one: a fixed 'random' seed chosen per page
            kind, args = "page", self.random_target
        return relative(export_path(kind, *args), self.folder)

    def absolute(self, kind: str, *args) -> str:
        if not self.base_url:
            return ""
        path = export_path(kind, *args)
        return f"{self.base_url}/{path[:-len('index.html')] if path.endswith('index.html') else path}"

    def run_page(self, run: str) -> str:
        return ""  # the generator's pages are not part of the export
