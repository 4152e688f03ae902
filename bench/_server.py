"""What the server benchmarks share: a fresh PostgreSQL database, the production settings, and
gunicorn started on loopback (after collectstatic) and stopped with its workers."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench._django import REPO

PG = "postgres://postgres@127.0.0.1:5432"
SECRET = "bench-only-secret-key-not-for-production-0123456789abcdef"


def fresh_database(name: str) -> str:
    """An empty PostgreSQL database `name` (dropped first if a previous run left it); its URL."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{PG}/{name}"


def production_env(work: Path, **extra: str) -> dict:
    """The environment of a production deployment (DEBUG off, persistent connections), on `work`."""
    return {**os.environ, "DEBUG": "false", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false", "DB_CONN_MAX_AGE": "60", "STATIC_ROOT": str(work / "static"),
            "LOG_LEVEL": "ERROR", **extra}


def collect_static(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=REPO, env=env,
                   check=True)


def start_gunicorn(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    """`gunicorn cansite.wsgi` (gthread workers) on 127.0.0.1:port, once it accepts connections."""
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "cansite.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", str(workers), "-k", "gthread", "--threads", str(threads), "--backlog", "2048",
                               "--keep-alive", "30", "--log-level", "error"], cwd=REPO, env=env,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not start within 60 s")


def stop(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers (their own process group)."""
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
