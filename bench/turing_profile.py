"""Profile: where a Turing answer's server milliseconds go, measured in-process.

    .venv/bin/python bench/turing_profile.py [--participants 30] [--redis-url redis://127.0.0.1:6379/7]

The settings of bench/turing_load.py (PostgreSQL, the Redis cache and sessions, DEBUG off, persistent
connections, manifest static files) and Django's own WSGI application, called directly: no sockets, no
gunicorn, so that what is measured is the site's work per request. --participants simulated browsers start
a test and answer every trial through the JavaScript path (JSON), round-robin, each fetching its next image
as a browser does. Printed per request kind: wall and CPU ms, SQL queries and their ms, Redis commands.
Then one cProfile (of CPU time, or with --wall of wall time) of every other participant's answers: the
inclusive ms of the named steps (middleware, session, CSRF, the service, its SQL, the JSON) and the self
time by package, which adds up to the whole. The last line is
one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._django import setup
from bench._server import SECRET, collect_static, fresh_database, production_env
from bench._turing import SETS, build_sets, form_with, make_study

DB_NAME = "cansite_turing_profile"
# (label, file suffix, function): inclusive time of these steps of an answer
STEPS = [
    ("whole request (WSGIHandler)", "django/core/handlers/wsgi.py", "__call__"),
    ("view: study_pages.answer", "turing/study_pages.py", "answer"),
    ("  study_pages.visitor", "turing/study_pages.py", "visitor"),
    ("  language (in_study_language)", "turing/study_pages.py", "wrapped"),
    ("session load", "django/contrib/sessions/backends/cached_db.py", "load"),
    ("session save", "django/contrib/sessions/backends/cached_db.py", "save"),
    ("session middleware response", "django/contrib/sessions/middleware.py", "process_response"),
    ("CSRF check", "django/middleware/csrf.py", "process_view"),
    ("CSRF response", "django/middleware/csrf.py", "process_response"),
    ("messages middleware", "django/contrib/messages/middleware.py", "process_response"),
    ("request_finished signal", "django/dispatch/dispatcher.py", "send"),
    ("view: turing.views.answer", "turing/views.py", "answer"),
    ("services.submit_answer", "turing/services.py", "submit_answer"),
    ("  locked (SELECT ... FOR UPDATE)", "turing/services.py", "locked"),
    ("  finish", "turing/services.py", "finish"),
    ("  Model.save", "django/db/models/base.py", "save"),
    ("  QuerySet.create", "django/db/models/query.py", "create"),
    ("  transaction commit", "django/db/transaction.py", "__exit__"),
    ("trial_payload", "turing/views.py", "trial_payload"),
    ("  previous_feedback", "turing/services.py", "previous_feedback"),
    ("  current_trial", "turing/services.py", "current_trial"),
    ("JsonResponse", "django/http/response.py", "__init__"),
    ("SQL compile (as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("psycopg execute", "psycopg/cursor.py", "execute"),
    ("redis commands", "redis/client.py", "execute_command"),
]
PACKAGES = [("psycopg", "/psycopg/"), ("redis", "/redis/"), ("django.db", "/django/db/"),
            ("django.template", "/django/template/"), ("django.contrib.sessions", "/django/contrib/sessions/"),
            ("django.middleware", "/django/middleware/"), ("django.core", "/django/core/"),
            ("django.http", "/django/http/"), ("django.urls", "/django/urls/"), ("django (other)", "/django/"),
            ("turing", "/turing/"), ("cansite", "/cansite/")]


class Counts:
    """SQL queries (with their time) and Redis commands of the requests in progress."""

    def __init__(self):
        self.queries, self.sql_s, self.redis = 0, 0.0, 0

    def sql(self, execute, sql, params, many, context):
        self.queries += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql_s += time.perf_counter() - started


class Browser:
    """One visitor of the WSGI application: cookies, and the same headers as the load bench's."""

    def __init__(self, app):
        self.app, self.cookies = app, SimpleCookie()

    def call(self, method: str, url: str, body: dict | None = None, accept: str = "text/html"):
        parts = urlsplit(url)
        data = urlencode(body or {}).encode()
        environ = {"REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8871", "HTTP_HOST": "127.0.0.1",
                   "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT": accept,
                   "HTTP_COOKIE": "; ".join(f"{k}={v.value}" for k, v in self.cookies.items()),
                   "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
                   "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
                   "wsgi.run_once": False}
        if body is not None:
            environ.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(data)))
        status: list[str] = []
        headers: list[tuple[str, str]] = []

        def start_response(line, response_headers, exc_info=None):
            status.append(line)
            headers.extend(response_headers)

        result = self.app(environ, start_response)
        content = b"".join(result)
        if hasattr(result, "close"):
            result.close()  # request_finished: what gunicorn triggers after each response
        for name, value in headers:
            if name.lower() == "set-cookie":
                self.cookies.load(value)
        return int(status[0].split()[0]), dict(headers), content


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (clock ticks: 10 ms steps, so only sums mean much)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Recorder:
    """Wall, CPU, SQL and Redis per request kind, and the CPU of the PostgreSQL backend serving them."""

    def __init__(self, counts: Counts, backend_pid: int):
        self.counts, self.backend, self.rows = counts, backend_pid, defaultdict(list)

    def __call__(self, kind: str, send, profile: cProfile.Profile | None = None):
        c = self.counts
        queries, sql_s, redis_n, db_cpu = c.queries, c.sql_s, c.redis, process_cpu_s(self.backend)
        wall, cpu = time.perf_counter(), time.thread_time()
        if profile:
            profile.enable()
        try:
            return send()
        finally:
            if profile:
                profile.disable()
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            self.rows[kind + (" (profiled)" if profile else "")].append(
                (wall, cpu, c.queries - queries, c.sql_s - sql_s, c.redis - redis_n,
                 process_cpu_s(self.backend) - db_cpu))

    def summary(self) -> dict:
        out = {}
        for kind, rows in self.rows.items():
            n = len(rows)
            out[kind] = {"n": n, **{name: round(scale * sum(r[i] for r in rows) / n, 2) for i, (name, scale) in
                                    enumerate([("wall_ms", 1000), ("cpu_ms", 1000), ("queries", 1),
                                               ("sql_ms", 1000), ("redis", 1), ("db_cpu_ms", 1000)])}}
        return out


def count_redis(counts: Counts) -> None:
    import redis

    original = redis.Redis.execute_command

    def counted(self, *args, **options):
        counts.redis += 1
        return original(self, *args, **options)

    redis.Redis.execute_command = counted


def entry_url(study: str, index: int) -> str:
    if study:
        return f"/turing/s/{study}/?PROLIFIC_PID=PROFILE{index:05d}&STUDY_ID=PROFILE&SESSION_ID=S{index}"
    return f"/turing/?q={index % SETS + 1}"


def follow(record: Recorder, browser: Browser, response):
    """The site's own redirects, recorded as page requests; a redirect off the site ends the walk."""
    while response[0] in (301, 302, 303):
        location = response[1]["Location"]
        if urlsplit(location).netloc:
            return response
        response = record("page", lambda u=location: browser.call("GET", u))
    return response


def take_tests(app, record: Recorder, participants: int, profile: cProfile.Profile, images: bool,
               study: str) -> None:
    """Every participant starts, then all answer round-robin until each has finished; the answers of every
    other participant are profiled (so that the others' figures are the unprofiled ones)."""
    rng = random.Random(0)
    states = []
    for i in range(participants):
        browser, url = Browser(app), entry_url(study, i)
        _, _, page = record("consent page", lambda b=browser, u=url: b.call("GET", u))
        form = form_with(page.decode(), "consent")
        fields = {**form["fields"], "consent": "on"}
        status, headers, _ = record("start", lambda b=browser, f=form, d=fields: b.call("POST", f["action"], d))
        assert status == 302, f"start: HTTP {status}"
        _, _, page = follow(record, browser, record("page", lambda b=browser, u=headers["Location"]: b.call("GET", u)))
        form = form_with(page.decode(), "token")
        states.append([browser, form, profile if i % 2 else None])
    active = list(states)
    while active:
        for state in list(active):
            browser, form, profiler = state
            body = {**form["fields"], "answer": rng.choice(["real", "synthetic"])}
            status, _, text = record("answer", lambda b=browser, a=form["action"], d=body: b.call(
                "POST", a, d, accept="application/json"), profiler)
            assert status == 200, f"answer: HTTP {status} {text[:200]!r}"
            reply = json.loads(text)
            if reply["done"] or "token" not in reply:  # the score, or a practice answer's page
                kind = "score page" if reply["done"] else "page"
                _, _, page = follow(record, browser, record(kind, lambda b=browser, u=reply["url"]: b.call("GET", u)))
                state[1] = form_with(page.decode(), "token")
                if state[1] is None:
                    active.remove(state)
                continue
            form["fields"].update(position=str(reply["position"]), token=reply["token"])
            if images:
                record("image", lambda b=browser, u=reply["image"]: b.call("GET", u, accept="image/*"))


def step_times(stats: pstats.Stats, answers: int) -> list[tuple[str, float, float]]:
    """(label, inclusive ms per answer, calls per answer) of each named step."""
    rows = []
    for label, suffix, name in STEPS:
        total, calls = 0.0, 0
        for (filename, _, func), (_, nc, _, ct, _) in stats.stats.items():
            if func == name and filename.endswith(suffix):
                total, calls = total + ct, calls + nc
        if calls:
            rows.append((label, 1000 * total / answers, calls / answers))
    return rows


def package_times(stats: pstats.Stats, answers: int) -> list[tuple[str, float]]:
    """Self time by package, ms per answer: the parts add up to the whole profile."""
    totals: Counter = Counter()
    for (filename, _, _), (_, _, tt, _, _) in stats.stats.items():
        name = next((label for label, part in PACKAGES if part in filename), None)
        if name is None:
            name = "python (stdlib, builtins)" if "site-packages" not in filename else "other packages"
        totals[name] += 1000 * tt / answers
    return totals.most_common()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=30, help="Simulated browsers (default 30).")
    parser.add_argument("--study", default="", metavar="SLUG",
                        help="Enter through the study flow /turing/s/SLUG/ (a study the profile loads).")
    parser.add_argument("--practice", type=int, default=0, help="The study's practice images (default 0).")
    parser.add_argument("--no-images", action="store_true", help="Do not fetch each next image.")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7",
                        help="REDIS_URL (the cache and sessions; emptied first); '' for none.")
    parser.add_argument("--wall", action="store_true",
                        help="Profile wall time (waits on PostgreSQL and Redis included); default: CPU time.")
    parser.add_argument("--top", type=int, default=25, help="Functions listed by cumulative time (default 25).")
    args = parser.parse_args()
    static = Path(tempfile.mkdtemp(prefix="cansite-profile-static-"))
    os.environ.update(production_env(static, REDIS_URL=args.redis_url,
                                     TURING_NEW_PARTICIPANTS_PER_IP_HOUR="1000000"))
    os.environ["SECRET_KEY"] = SECRET
    work = setup(fresh_database(DB_NAME))
    build_sets(work)
    if args.study:
        make_study(work, args.study, args.practice)
    collect_static(dict(os.environ))
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    app = get_wsgi_application()
    counts = Counts()
    count_redis(counts)
    Browser(app).call("GET", "/turing/?q=1")  # imports and template compilation, before anything is measured
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    record = Recorder(counts, backend)
    profile = cProfile.Profile() if args.wall else cProfile.Profile(time.thread_time)
    with connection.execute_wrapper(counts.sql):
        take_tests(app, record, args.participants, profile, not args.no_images, args.study)
    summary = record.summary()
    answers = summary["answer (profiled)"]["n"]
    stats = pstats.Stats(profile)
    print(f"{'request':<20}{'n':>6}{'wall ms':>9}{'cpu ms':>8}{'queries':>9}{'sql ms':>8}{'redis':>7}{'db cpu ms':>11}")
    for kind, row in summary.items():
        print(f"{kind:<20}{row['n']:>6}{row['wall_ms']:>9}{row['cpu_ms']:>8}{row['queries']:>9}{row['sql_ms']:>8}"
              f"{row['redis']:>7}{row['db_cpu_ms']:>11}")
    profiled_ms = 1000 * stats.total_tt / answers
    print(f"\nanswer under cProfile: {profiled_ms:.2f} ms of {'wall' if args.wall else 'CPU'} time per answer "
          "(profiling slows it down); inclusive steps:")
    steps = step_times(stats, answers)
    for label, ms, calls in steps:
        print(f"  {label:<36}{ms:>7.2f} ms {100 * ms / profiled_ms:>5.1f} %  {calls:>5.2f} calls")
    print("self time by package:")
    packages = package_times(stats, answers)
    for name, ms in packages:
        print(f"  {name:<36}{ms:>7.2f} ms {100 * ms / profiled_ms:>5.1f} %")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue().split("\n", 6)[-1].rstrip())
    print(json.dumps({"requests": summary, "profiled_answer_ms": round(profiled_ms, 2),
                      "steps_ms": {label.strip(): round(ms, 2) for label, ms, _ in steps},
                      "packages_ms": {name: round(ms, 2) for name, ms in packages},
                      "load_average": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
