"""python manage.py publish_seeds --run NAME --seeds 0-4999 [--psi 1.0] [--extra-psi 0.5,0.7]
[--noise-mode const] [--counterpart RUN] [--morph 0-99:next] [--morph-frames 12] [--now]"""
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cansite.cli import named, positive_int
from generator.models import TrainingRun
from seeds import jobs
from seeds.models import NOISE_MODES
from seeds.services import ProfileChange, PublishError, create_publication, publish


class Command(BaseCommand):
    help = ("Render a seed range of a run's latest checkpoint as seed pages (a job on the gpu queue, or here "
            "without Redis or with --now). Images that exist for the same checkpoint, psi and seed are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True, help="Training run to publish.")
        parser.add_argument("--seeds", required=True, help="One seed range, e.g. 0-4999 (both ends included).")
        parser.add_argument("--psi", default="1.0", help="Truncation psi of the pages (default 1.0: none).")
        parser.add_argument("--extra-psi", help="More psi values shown as a strip on each page, e.g. 0.5,0.7 "
                                                "(default: the run's last; '' for none).")
        parser.add_argument("--noise-mode", default="const", choices=NOISE_MODES,
                            help="Per-layer noise: the checkpoint's fixed maps (default), random, or none.")
        parser.add_argument("--counterpart", help="The other class's run, linked from each page ('' for none).")
        parser.add_argument("--morph", help="Morph pairs rendered with the seeds, e.g. 0-99:next,3:42 "
                                            "(default: the run's last; '' for none).")
        parser.add_argument("--morph-frames", type=positive_int,
                            help="Frames per morph, both ends included (default 12).")
        parser.add_argument("--now", action="store_true", help="Render in this process instead of queueing.")

    def handle(self, *args, **opts):
        run = named(TrainingRun.objects, opts["run"], flag="--run")
        change = ProfileChange(counterpart=opts["counterpart"], extra_psi=opts["extra_psi"], morph=opts["morph"],
                               morph_frames=opts["morph_frames"])
        try:
            pub = create_publication(run=run, seeds=opts["seeds"], psi=opts["psi"], noise_mode=opts["noise_mode"],
                                     change=change)
        except PublishError as exc:
            raise CommandError(str(exc)) from None
        queued = jobs.PUBLISH.submit(pub, now=opts["now"], here=lambda: self.here(pub, opts))
        if queued:
            self.stdout.write(f"queued seeds {pub.seed_lo}-{pub.seed_hi} of {run.name} on gpu as job {queued}")

    def here(self, pub, opts) -> None:
        bar = tqdm(unit="img", disable=opts["verbosity"] < 1, file=self.stderr._out)

        def progress(info: dict) -> None:
            bar.total = info["total"]
            bar.update(info["done"] - bar.n)

        try:
            status = publish(publication_id=pub.id, job_id=f"now-{pub.id}", progress=progress)
        except PublishError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        pub.refresh_from_db()
        self.stdout.write(f"{status}: seeds {pub.seed_lo}-{pub.seed_hi} of {pub.run.name} at psi {pub.psi:g} "
                          f"({pub.done} images, checkpoint {pub.kimg:g} kimg, sha256 {pub.checkpoint_sha256[:12]})")
