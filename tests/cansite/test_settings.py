"""Settings read from the environment; production settings pass `check --deploy`."""
import os
import subprocess
import sys

from tests.conftest import REPO


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false",
                    SECRET_KEY="x7#k2!pQ9v$Lm3@tR8wZ1&cY6^bN4*hJ0-sD5+fGq8%Wn2(Ee7)Ty4~Ui9_Oa1",
                    ALLOWED_HOSTS="cansite.example.org")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="false", ALLOWED_HOSTS="cansite.example.org")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_queues_follow_redis_url():
    code = "from django.conf import settings as s; print(s.RQ_QUEUES['gpu']['URL'], s.RQ_QUEUES['gpu']['ASYNC'])"
    result = manage("shell", "-v", "0", "-c", code, REDIS_URL="redis://10.1.2.3:6379/2")
    assert result.stdout.split() == ["redis://10.1.2.3:6379/2", "True"], result.stderr
    result = manage("shell", "-v", "0", "-c", code)
    assert result.stdout.split()[1] == "False", "without REDIS_URL jobs run in-process"


def test_the_web_process_and_the_worker_parent_never_import_torch():
    """RQ forks a work-horse per job: CUDA must first be touched there, never in the parent."""
    code = ("import sys, cansite.urls, datasets.jobs, generator.jobs, classifier.jobs, django_rq.management.commands."
            "rqworker; print('torch' in sys.modules)")
    result = manage("shell", "-v", "0", "-c", code)
    assert result.stdout.strip() == "False", result.stderr


def test_the_local_sites_key_is_made_once_whole_and_private(tmp_path, monkeypatch):
    from cansite import settings as module

    monkeypatch.setattr(module, "VAR_DIR", tmp_path / "var")
    first = module.install_secret("secret-key")
    assert len(first) >= 50 and module.install_secret("secret-key") == first, "kept across restarts"
    assert (tmp_path / "var" / "secret-key").stat().st_mode & 0o777 == 0o600
