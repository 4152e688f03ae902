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
    """The environment of a production deployment (DEBUG off, so persistent connections), on `work`."""
    environ = {k: v for k, v in os.environ.items() if k != "DB_CONN_MAX_AGE"}  # production's own default
    return {**environ, "DEBUG": "false", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false", "STATIC_ROOT": str(work / "static"), "LOG_LEVEL": "ERROR", **extra}


def collect_static(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=REPO, env=env,
                   check=True)


def start_gunicorn(env: dict, port: int, workers: int | None, threads: int | None) -> subprocess.Popen:
    """`gunicorn cansite.wsgi` on 127.0.0.1:port, once it accepts connections: the repository's
    gunicorn.conf.py (what production runs), with `workers` and `threads` instead of its own when given."""
    sizes = [*(["-w", str(workers)] if workers else []), *(["--threads", str(threads)] if threads else [])]
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "cansite.wsgi", "-c", "gunicorn.conf.py",
                               "-b", f"127.0.0.1:{port}", *sizes, "--log-level", "error"], cwd=REPO, env=env,
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


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far, from /proc/<pid>/stat (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(server: subprocess.Popen) -> list[int]:
    """gunicorn's master and its workers (the master's children)."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    return [server.pid, *map(int, children)]


def database_backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL backends connected to the database of `database_url` (but this query's own)."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            [name]).fetchall()
    return [pid for (pid,) in rows]


def stop(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers (their own process group)."""
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
