"""Benchmark: many participants taking the Turing test at once against gunicorn on PostgreSQL.

    .venv/bin/python bench/turing_load.py [--participants 500] [--think-ms 1000] [--study SLUG] [--images]

A fresh PostgreSQL database (cansite_turing_bench, dropped and re-created) gets 19 sets of 20
generated images; gunicorn serves the site as production does (gunicorn.conf.py, DEBUG off, manifest
static files, persistent database connections, the Redis cache and sessions; plain HTTP on loopback,
so SSL redirect is off) and a load generator on 127.0.0.1 runs every participant at once (arriving
evenly over --ramp-seconds), each in its own thread on one keep-alive connection. A participant reads
each page's forms from its HTML (action and hidden inputs: nothing about a form is hard-coded here),
consents, then answers every image through the JavaScript path (POST with Accept: application/json),
thinking a random 0.5-1.5 x --think-ms between answers and re-sending --resubmit of its answers (a double
click); --images also fetches each next image, as a browser does. With --study SLUG the bench loads a
study of all 19 sets (load_study when the command exists, else the ORM) and participants enter at
/turing/s/SLUG/ with Prolific ids (?PROLIFIC_PID=...), follow its redirects and count the completion
redirect to the study's completion_url. The run is bounded: --participants, and --max-seconds after
which everyone stops. Then the stored answers are compared with the acknowledged ones: `lost`
acknowledged answers not stored, `doubled` stored beyond one per trial or changed by a re-send.

Printed: answers/s, p50/p99 of the answers (and p99 of the pages and images), lost, doubled, and the
CPU milliseconds per answer of gunicorn (master and workers, from /proc/<pid>/stat over the measured
window), of the database's backends and of the load generator, with the load average. Target (issue
15): p99 under 100 ms at 500 participants, zero lost, zero doubled. The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._django import setup
from bench._http import Connection, Response
from bench._server import (
    SECRET,
    collect_static,
    database_backend_pids,
    fresh_database,
    process_cpu_seconds,
    production_env,
    server_pids,
    start_gunicorn,
    stop,
)
from bench._turing import CODES, COMPLETION_URL, SETS, build_sets, form_with, make_study

DB_NAME = "cansite_turing_bench"
def start_server(work: Path, port: int, workers: int | None, threads: int | None, redis_url: str):
    """gunicorn as production runs it: with Redis (the cache, and so the sessions) unless told ''."""
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    env = production_env(work, TURING_NEW_PARTICIPANTS_PER_IP_HOUR="1000000", REDIS_URL=redis_url)
    collect_static(env)
    return start_gunicorn(env, port, workers, threads)


class Participant(threading.Thread):
    """One simulated visitor: its own connection, cookies, and the answers the server acknowledged."""

    def __init__(self, index: int, port: int, args, deadline: float, start_gate: threading.Event):
        super().__init__(daemon=True)
        self.index, self.port, self.args, self.deadline, self.gate = index, port, args, deadline, start_gate
        self.rng = random.Random(index)
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []  # the answers'
        self.page_latencies: list[float] = []  # entry, consent, start, trial and score pages, redirects
        self.image_latencies: list[float] = []
        self.acked: dict[str, str] = {}  # a trial's token -> the answer acknowledged
        self.errors: list[str] = []
        self.session = ""
        self.panel_id = f"BENCH{index:06d}"
        self.completion = ""  # the completion URL the study sent this participant to
        self.span = (0.0, 0.0)  # when its test began and ended

    def request(self, method: str, url: str, body: dict | None = None, accept: str = "text/html",
                latencies: list | None = None) -> Response:
        headers = {"Accept": accept}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = b""
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        response = self.conn.request(method, url, headers, data)
        (self.page_latencies if latencies is None else latencies).append(time.perf_counter() - started)
        for header in response.all("set-cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response

    def follow(self, response: Response) -> Response:
        """Follow the site's own redirects (a page's, not the panel's) and return the page they end on;
        a redirect off the site is the study's completion redirect, kept in self.completion."""
        while response.status in (301, 302, 303, 307):
            location = response.header("location")
            parts = urlsplit(location)
            if parts.netloc and parts.netloc != f"127.0.0.1:{self.port}":
                self.completion = location
                return response
            response = self.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        return response

    def run(self) -> None:
        self.conn = Connection("127.0.0.1", self.port)
        self.gate.wait()
        time.sleep(self.args.ramp_seconds * self.index / self.args.participants)  # arrivals spread over the ramp
        began = time.monotonic()
        try:
            self.take_test()
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.span = (began, time.monotonic())
            self.session = self.cookies.get("sessionid", "")
            self.conn.close()

    def entry_url(self) -> str:
        if self.args.study:
            query = urlencode({"PROLIFIC_PID": self.panel_id, "STUDY_ID": "BENCHSTUDY", "SESSION_ID": f"S{self.index}"})
            return f"/turing/s/{self.args.study}/?{query}"
        return f"/turing/?q={self.index % SETS + 1}"

    def take_test(self) -> None:
        page = self.follow(self.request("GET", self.entry_url()))
        form = form_with(page.text, "consent")
        if form is None:
            raise RuntimeError(f"entry: HTTP {page.status}, no consent form")
        page = self.follow(self.request("POST", form["action"], {**form["fields"], "consent": "on"}))
        form = form_with(page.text, "token")
        if form is None:
            raise RuntimeError(f"start: HTTP {page.status}, no trial form")
        while form is not None and time.monotonic() < self.deadline:
            form = self.answer(form)
        if form is None and self.args.study and not self.completion:
            self.find_completion(page)

    def answer(self, form: dict) -> dict | None:
        """Answer the form's trial (and maybe re-send it); the next trial's form, or None at the end."""
        time.sleep(self.args.think_ms / 1000 * self.rng.uniform(0.5, 1.5))
        fields = form["fields"]
        body = {**fields, "answer": self.rng.choice(["real", "synthetic"])}
        response = self.request("POST", form["action"], body, accept="application/json", latencies=self.latencies)
        if response.status != 200 and response.status not in (302, 303):
            raise RuntimeError(f"answer at {fields.get('position')}: HTTP {response.status}")
        self.acked[fields["token"]] = body["answer"]
        if self.rng.random() < self.args.resubmit:  # a double click: the same answer again, or a changed one
            again = {**body, "answer": self.rng.choice(["real", "synthetic"])}
            self.request("POST", form["action"], again, accept="application/json", latencies=[])
        if not response.header("content-type").startswith("application/json"):  # a plain form's redirect
            page = self.follow(response)
            return self.next_form(page)
        state = json.loads(response.body)
        if state["done"]:
            self.next_form(self.follow(self.request("GET", state["url"])))
            return None
        if "token" not in state:  # a practice answer: its feedback and the next trial are on the page
            return self.next_form(self.follow(self.request("GET", state["url"])))
        if self.args.images and state.get("image"):
            self.request("GET", state["image"], accept="image/*", latencies=self.image_latencies)
        return {**form, "fields": {**fields, "position": str(state["position"]), "token": state["token"]}}

    def next_form(self, page: Response) -> dict | None:
        form = form_with(page.text, "token")
        if form is None and self.args.study and not self.completion:
            self.find_completion(page)
        return form

    def find_completion(self, page: Response) -> None:
        """The score page's link (or form) to the panel's completion URL."""
        prefix = COMPLETION_URL.split("{code}")[0]
        text = page.text.replace("&amp;", "&")
        start = text.find(prefix)
        if start >= 0:
            self.completion = text[start:text.find('"', start)]


def check_stored(participants: list[Participant], study: str) -> dict:
    """Acknowledged answers compared with the rows in the database: lost, doubled, finished, practice
    (acknowledged tokens that name no scored trial of the participant: a study's practice images)."""
    from django.contrib.sessions.backends.db import SessionStore

    from turing.models import Answer, Showing
    from turing.models import Participant as Row

    lost = doubled = finished = practice = 0
    for p in participants:
        if study:
            row = Row.objects.filter(study__slug=study, panel_id=p.panel_id).first()
        else:
            ids = SessionStore(session_key=p.session).load().get("turing", {}) if p.session else {}
            row = Row.objects.filter(public_id=next(iter(ids.values()), None)).first()
        if row is None:
            lost += len(p.acked)
            continue
        tokens = dict(Showing.objects.filter(participant=row).values_list("position", "token"))
        stored: dict[str, list[str]] = {}
        for position, answer in Answer.objects.filter(participant=row).values_list("position", "answer"):
            stored.setdefault(tokens.get(position, f"#{position}"), []).append(answer)
        scored = {token: answer for token, answer in p.acked.items() if token in tokens.values()}
        practice += len(p.acked) - len(scored)
        lost += sum(1 for token, answer in scored.items() if answer not in stored.get(token, []))
        doubled += sum(len(rows) - 1 for rows in stored.values()) + sum(
            1 for token, rows in stored.items() if token in scored and rows[0] != scored[token])
        finished += bool(p.acked) and not p.errors and row.finished_at is not None
    return {"lost": lost, "doubled": doubled, "finished": finished, "practice_answers": practice}


def peak_concurrency(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = running = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


class CpuMeter(threading.Thread):
    """CPU seconds of gunicorn (master and workers), the database's backends and this process over the
    measured window only (not start-up, imports or the warm-up). Sampled every second, per process: a
    worker or backend that starts later counts from zero, one that ends keeps what it had at its last
    sample (persistent connections are re-made every DB_CONN_MAX_AGE, so backends come and go)."""

    def __init__(self, server, database_url: str):
        super().__init__(daemon=True)
        self.server, self.database_url = server, database_url
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.done = threading.Event()

    def sample(self, initial: bool = False) -> None:
        pids = [("gunicorn", pid) for pid in server_pids(self.server)]
        pids += [("postgres", pid) for pid in database_backend_pids(self.database_url)]
        for key in pids:
            seconds = process_cpu_seconds(key[1])
            self.first.setdefault(key, seconds if initial else 0.0)
            self.last[key] = max(self.last.get(key, 0.0), seconds)

    def start(self) -> None:
        self.generator = time.process_time()
        self.sample(initial=True)
        super().start()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.sample()

    def stop(self) -> dict:
        self.done.set()
        self.join()
        self.sample()
        totals = {"gunicorn": 0.0, "postgres": 0.0}
        for key, seconds in self.last.items():
            totals[key[0]] += seconds - self.first[key]
        return {**totals, "load_generator": time.process_time() - self.generator}


def warm_up(port: int, requests: int) -> None:
    """Let every worker import, connect and compile its templates before the clock starts."""
    for _ in range(requests):
        conn = Connection("127.0.0.1", port)
        conn.request("GET", "/turing/?q=1", {"Connection": "close"})
        conn.close()


def conf_threads() -> int:
    import runpy

    return runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))["threads"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(value: float) -> float | None:
    return None if value != value else round(1000 * value, 1)  # NaN (no such requests): JSON's null


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=500, help="Simulated participants at once (default 500).")
    parser.add_argument("--think-ms", type=float, default=1000, help="Mean pause before each answer (default 1000).")
    parser.add_argument("--ramp-seconds", type=float, default=10,
                        help="Participants arrive evenly over this many seconds (default 10), then all answer at once.")
    parser.add_argument("--resubmit", type=float, default=0.05, help="Share of answers sent twice (default 0.05).")
    parser.add_argument("--max-seconds", type=float, default=180, help="Everyone stops after this (default 180).")
    parser.add_argument("--study", default="", metavar="SLUG",
                        help="Enter through the study flow /turing/s/SLUG/ with Prolific ids (the bench loads it).")
    parser.add_argument("--practice", type=int, default=0, help="The bench study's practice images (default 0).")
    parser.add_argument("--images", action="store_true", help="Also fetch each next image, as a browser does.")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's).")
    parser.add_argument("--threads", type=int, default=None, help="Threads per worker (default: gunicorn.conf.py's).")
    parser.add_argument("--port", type=int, default=8871)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8",
                        help="REDIS_URL of the server (its cache and sessions; emptied first); '' for none.")
    return parser.parse_args()


def run_crowd(args, server, database_url: str) -> tuple[list[Participant], float, dict]:
    gate = threading.Event()
    began = time.monotonic()
    crowd = [Participant(i, args.port, args, began + args.max_seconds, gate) for i in range(args.participants)]
    for p in crowd:
        p.start()
    meter = CpuMeter(server, database_url)
    meter.start()
    began = time.monotonic()
    gate.set()
    for p in crowd:
        p.join(timeout=max(1.0, began + args.max_seconds + 35 - time.monotonic()))
    elapsed = time.monotonic() - began
    return crowd, elapsed, meter.stop()


def main() -> None:
    args = parse_args()
    os.environ["SECRET_KEY"] = SECRET  # the bench process decodes the server's sessions
    database_url = fresh_database(DB_NAME)
    work = setup(database_url)
    build_sets(work)
    if args.study:
        make_study(work, args.study, args.practice)
    server = start_server(work, args.port, args.workers, args.threads, args.redis_url)
    try:
        warm_up(args.port, 8 * (os.cpu_count() or 2))
        workers = len(server_pids(server)) - 1
        crowd, elapsed, cpu = run_crowd(args, server, database_url)
    finally:
        stop(server)
    latencies = [s for p in crowd for s in p.latencies]
    answers = len(latencies)
    stored = check_stored(crowd, args.study)
    errors = [e for p in crowd for e in p.errors]
    per_answer = {name: round(1000 * seconds / max(1, answers), 2) for name, seconds in cpu.items()}
    figures = {"participants": args.participants, "peak_concurrent": peak_concurrency([p.span for p in crowd]),
               **stored, "answers": answers, "answers_per_s": round(answers / elapsed, 1),
               "p50_ms": ms(percentile(latencies, 0.5)), "p99_ms": ms(percentile(latencies, 0.99)),
               "pages_p99_ms": ms(percentile([s for p in crowd for s in p.page_latencies], 0.99)),
               "images_p99_ms": ms(percentile([s for p in crowd for s in p.image_latencies], 0.99)),
               "errors": len(errors), "cpu_ms_per_answer": per_answer,
               "cpu_s": {name: round(seconds, 1) for name, seconds in cpu.items()},
               "think_ms": args.think_ms, "seconds": round(elapsed, 1), "study": args.study,
               "completion_redirects": sum(1 for p in crowd if p.completion.split("cc=")[-1] in CODES.values()),
               "images": args.images,
               "gunicorn": f"{workers} workers x {args.threads or conf_threads()} threads",
               "redis": bool(args.redis_url),
               "cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    for error in dict.fromkeys(errors[:5]):
        print(f"error: {error}")
    print(f"{answers} answers from {args.participants} participants in {elapsed:.1f} s: "
          f"{figures['answers_per_s']} answers/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; "
          f"lost {stored['lost']}, doubled {stored['doubled']}, {stored['finished']} finished"
          + (f", {figures['completion_redirects']} sent to the completion URL" if args.study else ""))
    print(f"server CPU per answer: gunicorn {per_answer['gunicorn']} ms, PostgreSQL {per_answer['postgres']} ms "
          f"(load generator {per_answer['load_generator']} ms); load average {figures['load_average']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
