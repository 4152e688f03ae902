"""Benchmark: many participants taking the Turing test at once against gunicorn on PostgreSQL.

    .venv/bin/python bench/turing_load.py [--participants 200] [--think-ms 1000] [--max-seconds 180]

A fresh PostgreSQL database (cansite_turing_bench, dropped and re-created) gets 19 sets of 20
generated images; gunicorn serves the site with the production settings (DEBUG off, manifest
static files; plain HTTP on loopback, so SSL redirect is off) and a load generator on 127.0.0.1
runs every participant at once (arriving evenly over --ramp-seconds), each in its own thread on one
keep-alive connection: consent, then every image of its set through the JavaScript path (POST with
Accept: application/json), thinking a random 0.5-1.5 x --think-ms between answers and re-sending
--resubmit of its answers (a double click). The run is bounded: --participants, and --max-seconds
after which everyone stops. Then the stored answers are compared with the acknowledged ones: `lost`
acknowledged answers not stored, `doubled` stored beyond one per trial or changed by a re-send.
Target: p99 under 100 ms at 200 participants, zero lost, zero doubled. The last line is one JSON object
with the figures.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._django import setup
from bench._server import SECRET, collect_static, fresh_database, production_env, start_gunicorn, stop

DB_NAME = "cansite_turing_bench"
TOKEN_RE = re.compile(r'name="(csrfmiddlewaretoken|position|token)" value="([^"]+)"')


def build_sets(work: Path, per_class: int = 110) -> None:
    """Real-looking and synthetic-looking folder datasets, then 19 sets of 20."""
    from datasets.demo import paint_lesion
    from datasets.models import Dataset, ImageRecord
    from turing.building import BuildOptions, build_turing_sets

    for name, kind, offset in (("BENCH-REAL", Dataset.Kind.FOLDER, 0), ("BENCH-GAN", Dataset.Kind.SYNTHETIC, 10_000)):
        dataset = Dataset.objects.create(name=name, kind=kind, source=str(work / name))
        rows = []
        for i in range(2 * per_class):
            label = "melanoma" if i % 2 else "nevus"
            path = work / name / label / f"{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            paint_lesion(offset + i, label, (160, 160))[0].save(path)
            rows.append(ImageRecord(dataset=dataset, no=str(i), label=label, source_path=str(path),
                                    status=ImageRecord.Status.OK))
        ImageRecord.objects.bulk_create(rows)
    build_turing_sets(options=BuildOptions(real=["BENCH-REAL"], synthetic=["BENCH-GAN"], sets=19, per_set=20, side=128))


def start_server(work: Path, port: int, workers: int, threads: int, redis_url: str) -> subprocess.Popen:
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
        self.latencies: list[float] = []
        self.acked: dict[int, tuple[str, str]] = {}  # position -> (token, answer)
        self.errors: list[str] = []
        self.session = ""
        self.span = (0.0, 0.0)  # when its test began and ended

    def request(self, method: str, path: str, body: dict | None = None, accept: str = "text/html"):
        headers = {"Accept": accept, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, text

    def run(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
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

    def take_test(self) -> None:
        q = self.index % 19 + 1
        status, page = self.request("GET", f"/turing/?q={q}")
        fields = dict(TOKEN_RE.findall(page))
        status, _ = self.request("POST", "/turing/start/", {"q": q, "consent": "on",
                                                            "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"]})
        if status != 302:
            raise RuntimeError(f"start: HTTP {status}")
        status, page = self.request("GET", f"/turing/?q={q}")
        fields = dict(TOKEN_RE.findall(page))
        csrf, position, token = fields["csrfmiddlewaretoken"], int(fields["position"]), fields["token"]
        while time.monotonic() < self.deadline:
            time.sleep(self.args.think_ms / 1000 * self.rng.uniform(0.5, 1.5))
            answer = self.rng.choice(["real", "synthetic"])
            body = {"q": q, "position": position, "token": token, "answer": answer, "csrfmiddlewaretoken": csrf}
            started = time.perf_counter()
            status, text = self.request("POST", "/turing/answer/", body, accept="application/json")
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"answer at {position}: HTTP {status}")
            self.acked[position] = (token, answer)
            if self.rng.random() < self.args.resubmit:  # a double click: the same answer again, or a changed one
                body["answer"] = self.rng.choice(["real", "synthetic"])
                self.request("POST", "/turing/answer/", body, accept="application/json")
            state = json.loads(text)
            if state["done"]:
                return
            position, token = state["position"], state["token"]


def check_stored(participants: list[Participant]) -> tuple[int, int, int]:
    """(lost, doubled, finished): acknowledged answers compared with the rows in the database."""
    from django.contrib.sessions.backends.db import SessionStore

    from turing.models import Answer, Showing

    lost = doubled = finished = 0
    for p in participants:
        public_id = SessionStore(session_key=p.session).load().get("turing", {}) if p.session else {}
        public_id = next(iter(public_id.values()), None)
        # a trial's token is its showing's (one per participant and trial), not the image's
        shown = dict(Showing.objects.filter(participant__public_id=public_id).values_list("position", "token"))
        stored = [(position, shown.get(position), answer) for position, answer in
                  Answer.objects.filter(participant__public_id=public_id).values_list("position", "answer")]
        by_position: dict[int, list] = {}
        for position, token, answer in stored:
            by_position.setdefault(position, []).append((token, answer))
        lost += sum(1 for pos, ack in p.acked.items() if ack not in by_position.get(pos, []))
        doubled += sum(len(rows) - 1 for rows in by_position.values()) + sum(
            1 for pos, rows in by_position.items() if pos in p.acked and rows[0] != p.acked[pos])
        finished += bool(p.acked) and not p.errors and len(stored) == len(p.acked)
    return lost, doubled, finished


def peak_concurrency(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = running = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def server_cpu_seconds() -> dict:
    """CPU time of gunicorn and its workers (reaped children of this process)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"user": usage.ru_utime, "system": usage.ru_stime}


def warm_up(port: int, requests: int) -> None:
    """Let every worker import and compile its templates before the clock starts."""
    for _ in range(requests):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/turing/?q=1")
        conn.getresponse().read()
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200, help="Simulated participants at once (default 200).")
    parser.add_argument("--think-ms", type=float, default=1000, help="Mean pause before each answer (default 1000).")
    parser.add_argument("--ramp-seconds", type=float, default=10,
                        help="Participants arrive evenly over this many seconds (default 10), then all answer at once.")
    parser.add_argument("--resubmit", type=float, default=0.05, help="Share of answers sent twice (default 0.05).")
    parser.add_argument("--max-seconds", type=float, default=180, help="Everyone stops after this (default 180).")
    # One process per core plus one, two threads each: measured here, 2 x 8 gave p99 403 ms and 3 x 2 184 ms
    # at the same load (the GIL makes threads queue behind each other; processes spread over the cores).
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) + 1,
                        help="gunicorn workers (default: cores + 1).")
    parser.add_argument("--threads", type=int, default=2, help="Threads per gunicorn worker (default 2).")
    parser.add_argument("--port", type=int, default=8871)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8",
                        help="REDIS_URL of the server (its cache and sessions; emptied first); '' for none.")
    args = parser.parse_args()
    os.environ["SECRET_KEY"] = SECRET  # the bench process decodes the server's sessions
    work = setup(fresh_database(DB_NAME))
    build_sets(work)
    server = start_server(work, args.port, args.workers, args.threads, args.redis_url)
    reaped_cpu = sum(server_cpu_seconds().values())  # collectstatic's, before gunicorn
    warm_up(args.port, 4 * args.workers)
    try:
        gate = threading.Event()
        cpu_before = time.process_time()
        began = time.monotonic()
        crowd = [Participant(i, args.port, args, began + args.max_seconds, gate) for i in range(args.participants)]
        for p in crowd:
            p.start()
        began = time.monotonic()
        gate.set()
        for p in crowd:
            p.join(timeout=max(1.0, began + args.max_seconds + 35 - time.monotonic()))
        elapsed = time.monotonic() - began
        generator_cpu = time.process_time() - cpu_before
    finally:
        stop(server)
    server_cpu = sum(server_cpu_seconds().values()) - reaped_cpu
    latencies = [s for p in crowd for s in p.latencies]
    lost, doubled, finished = check_stored(crowd)
    errors = [e for p in crowd for e in p.errors]
    figures = {"participants": args.participants, "peak_concurrent": peak_concurrency([p.span for p in crowd]),
               "finished": finished, "answers": len(latencies),
               "answers_per_s": round(len(latencies) / elapsed, 1),
               "p50_ms": round(1000 * percentile(latencies, 0.5), 1),
               "p99_ms": round(1000 * percentile(latencies, 0.99), 1), "lost": lost, "doubled": doubled,
               "errors": len(errors), "think_ms": args.think_ms, "seconds": round(elapsed, 1),
               "gunicorn": f"{args.workers} workers x {args.threads} threads", "redis": bool(args.redis_url),
               "cpu_s": {"load_generator": round(generator_cpu, 1), "gunicorn": round(server_cpu, 1)},
               "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1)}
    for error in dict.fromkeys(errors[:5]):
        print(f"error: {error}")
    print(f"{len(latencies)} answers from {args.participants} participants in {elapsed:.1f} s: "
          f"{figures['answers_per_s']} answers/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; "
          f"lost {lost}, doubled {doubled}, {finished} finished")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
