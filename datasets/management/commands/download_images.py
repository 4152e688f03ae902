"""python manage.py download_images --dataset NAME [--workers N] [--per-host N] [--timeout S] ... [--now]

A job like every other (datasets.jobs.DOWNLOAD on the default queue), or run here with --now or
without Redis; --dry-run always runs here and creates nothing."""
import json
import math

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import non_negative_int, positive_float, positive_int
from cansite.status import public_reason
from datasets import jobs
from datasets.downloader import DownloadBusy, DownloadOptions, create_download, download_images, run_download
from datasets.models import Dataset, DownloadRun

DEFAULTS = DownloadOptions()


class Command(BaseCommand):
    help = "Download and crop a dataset's pending images: concurrent, polite, resumable."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="Dataset name (as imported).")
        net = parser.add_argument_group("network")
        net.add_argument("--workers", type=positive_int, default=DEFAULTS.workers,
                         help=f"Concurrent downloads (default {DEFAULTS.workers}).")
        net.add_argument("--per-host", type=positive_int, default=DEFAULTS.per_host,
                         help=f"Connections at once to one host (default {DEFAULTS.per_host}).")
        net.add_argument("--timeout", type=positive_float, default=DEFAULTS.timeout,
                         help=f"Seconds for a connection, a read, and a whole body (default {DEFAULTS.timeout:g}).")
        net.add_argument("--retries", type=non_negative_int, default=DEFAULTS.retries,
                         help="Extra tries after timeouts, connection errors, 429 and 5xx "
                              f"(default {DEFAULTS.retries}).")
        net.add_argument("--max-mb", type=positive_float, default=DEFAULTS.max_bytes / 2**20,
                         help="Largest body accepted, in MiB (default 30).")
        net.add_argument("--allow-private", action="store_true",
                         help="Allow URLs on loopback/private/link-local addresses (local test servers only).")
        which = parser.add_argument_group("which rows")
        which.add_argument("--limit", type=positive_int, help="Download at most this many rows (default: all).")
        which.add_argument("--retry-failed", action="store_true",
                           help="Also retry rows that failed for good (404, not an image...); transient "
                                "failures are always retried.")
        which.add_argument("--dry-run", action="store_true", help="Say what would be fetched; fetch nothing.")
        which.add_argument("--force", action="store_true",
                           help="Take over from another run even if its heartbeat is fresh (it stops at once; "
                                "only if it is stuck).")
        parser.add_argument("--now", action="store_true",
                            help="Download in this process instead of queueing (the default without Redis).")
        parser.add_argument("--json", action="store_true", help="End with the summary as one JSON object.")

    def handle(self, *args, **opts):
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is None:
            raise CommandError(f"no dataset named {opts['dataset']!r}")
        options = DownloadOptions(workers=opts["workers"], per_host=opts["per_host"], timeout=opts["timeout"],
                                  retries=opts["retries"], max_bytes=math.ceil(opts["max_mb"] * 2**20),
                                  limit=opts["limit"], allow_private=opts["allow_private"],
                                  retry_failed=opts["retry_failed"])
        try:
            if opts["dry_run"]:
                self.report(download_images(dataset=dataset, options=options, dry_run=True), opts)
                return
            row = create_download(dataset=dataset, options=options, force=opts["force"])
        except DownloadBusy as exc:
            raise CommandError(str(exc)) from None
        queued = jobs.DOWNLOAD.submit(row, now=opts["now"], here=lambda: self.here(row, opts))
        if queued:
            self.stdout.write(f"queued download {row.pk} of {dataset.name} on default as job {queued}")

    def here(self, row: DownloadRun, opts) -> None:
        bar = tqdm(unit="img", disable=opts["verbosity"] < 1, file=self.stderr._out)

        def progress(summary):
            bar.total = summary.rows
            bar.n = summary.ok + summary.failed
            bar.set_postfix(ok=summary.ok, failed=summary.failed, refresh=False)
            bar.refresh()

        try:
            summary = run_download(download_id=row.pk, job_id=f"now-{row.pk}", progress=progress)
        except DownloadBusy as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:  # recorded on the row (the traceback for staff): one line here
            raise CommandError(f"download {row.pk} of {row.dataset.name} failed: {public_reason(exc)} (the "
                               "traceback is on the download run in the admin)") from None
        finally:
            bar.close()
        self.report(summary, opts)

    def report(self, summary, opts):
        if summary.dry_run:
            self.stdout.write(f"{summary.dataset}: would fetch {summary.urls} URLs for {summary.rows} rows on "
                              f"{summary.hosts} hosts ({summary.already_done} rows already done)")
        else:
            if summary.stopped:
                self.stdout.write("stopped early: the run was cancelled, or another run took it over with --force")
            if summary.recovered:
                self.stdout.write(f"recovered {summary.recovered} rows left in progress by an interrupted run")
            if summary.stale:
                self.stdout.write(f"dropped {summary.stale} results: their rows were re-imported with another URL, "
                                  f"box or label during the run (pending again, for the next run)")
            if summary.failures_by_reason:
                self.stdout.write("failures by reason:")
                for reason, n in summary.failures_by_reason.most_common():
                    self.stdout.write(f"  {reason:<22} {n:>7}")
            self.stdout.write(f"{summary.dataset}: {summary.ok} ok, {summary.failed} failed of {summary.rows} rows "
                              f"({summary.urls} URLs) in {summary.elapsed_s:.1f}s, {summary.images_per_s:.1f} img/s, "
                              f"{summary.bytes / 2**20:.1f} MiB")
        if opts["json"]:
            data = {k: v for k, v in vars(summary).items() if k != "failures_by_reason"}
            data["failures_by_reason"] = dict(summary.failures_by_reason)
            self.stdout.write(json.dumps(data))
