"""gunicorn's settings for `gunicorn cansite.wsgi` (gunicorn reads ./gunicorn.conf.py by itself; the
benchmarks pass it with -c). Sizes come from the environment, as the site's settings do.

Threaded workers (gthread): a participant's browser keeps its connection open between answers, and a
waiting keep-alive connection costs a gthread worker nothing but a socket in its poller, where a sync
worker would be held by it. One process per core plus one (WEB_CONCURRENCY), each with a few threads
(GUNICORN_THREADS): the GIL lets one thread of a process run Python at a time, so threads only cover the
waits on PostgreSQL and Redis, and processes are what spread the work over the cores
(bench/turing_load.py measured the choices; the README has the figures).
"""
import os

wsgi_app = "cansite.wsgi"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 2)
# 500 participants may connect at once: the default backlog (2048) holds them, and one keep-alive
# connection per browser outlives its think time between answers (gunicorn's default is 2 s).
backlog = 2048
keepalive = 30
worker_connections = 1000
