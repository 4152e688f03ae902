"""Every URL a seed page holds, made in one place, for the live site or for the static export.

Templates never build URLs: a page's context carries them ready-made. `LiveLinks` gives the live
site's paths (`reverse`) and absolute URLs from settings.SITE_URL; `StaticLinks(here)` gives paths
relative to the export file `here`, so the export works under any prefix and from file://, and
absolute URLs only when the export has a --base-url. Both take the same "targets".

Languages: the live site shows one URL in the visitor's language. The export writes one tree of pages per
language: settings.LANGUAGE_CODE's at the root (the addresses it always had), each other under its code
(ko/mel/3/index.html); images and static files are shared by all. `alternates()` links a page's versions.
"""
from __future__ import annotations

import posixpath

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

PAGE_SIZE = 60  # thumbnails per run index page
STATIC_FILES = ("seeds.css", "seeds.js")
SHARED = ("static", "image")  # targets in no language's tree


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

    def alternates(self) -> list[dict]:
        return []  # one address for every language: the switcher form changes the visitor's language


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


def localized(path: str, language: str) -> str:
    """An export path of a page in a language's tree."""
    return path if language == settings.LANGUAGE_CODE else f"{language}/{path}"


def language_names() -> dict[str, str]:
    """Each language of the site named in itself (한국어, Español), as the switcher shows it."""
    from django.utils.text import capfirst
    from django.utils.translation import get_language_info

    return {code: capfirst(get_language_info(code)["name_local"]) for code, _ in settings.LANGUAGES}


def relative(target: str, folder: list[str]) -> str:
    """`target` (a path from the export root) as seen from the export folder `folder` (its parts).
    posixpath.relpath does the same but asks the OS for the working directory on every call."""
    parts = target.split("/")
    common = 0
    while common < min(len(folder), len(parts) - 1) and folder[common] == parts[common]:
        common += 1
    return "../" * (len(folder) - common) + "/".join(parts[common:])


class StaticLinks:
    """Links of the export page `here` (its path in the default language's tree) in `language`'s tree;
    `languages`: the export's (all of the site's by default)."""

    static_site = True

    def __init__(self, here: str, base_url: str = "", random_target: tuple | None = None, language: str = "",
                 languages: tuple[str, ...] = ()):
        self.here, self.base_url, self.random_target = here, base_url.rstrip("/"), random_target
        self.language = language or settings.LANGUAGE_CODE
        self.languages = languages or tuple(code for code, _ in settings.LANGUAGES)
        self.folder = [part for part in posixpath.dirname(localized(here, self.language)).split("/") if part]

    def target(self, kind: str, *args) -> str:
        path = export_path(kind, *args)
        return path if kind in SHARED else localized(path, self.language)

    def href(self, kind: str, *args) -> str:
        if kind == "random":  # no server to pick one: a fixed 'random' seed chosen per page
            kind, args = "page", self.random_target
        return relative(self.target(kind, *args), self.folder)

    def address(self, path: str) -> str:
        return f"{self.base_url}/{path[:-len('index.html')] if path.endswith('index.html') else path}"

    def absolute(self, kind: str, *args) -> str:
        return self.address(self.target(kind, *args)) if self.base_url else ""

    def alternates(self) -> list[dict]:
        """This page in every language: the switcher's links and the <link rel=alternate hreflang> tags
        (absolute with a --base-url, as search engines want them)."""
        return [{"code": code, "name": name, "current": code == self.language, "root": code == settings.LANGUAGE_CODE,
                 "href": relative(localized(self.here, code), self.folder),
                 "url": self.address(localized(self.here, code)) if self.base_url else ""}
                for code, name in language_names().items() if code in self.languages]

    def run_page(self, run: str) -> str:
        return ""  # the generator's pages are not part of the export
