"""python manage.py import_stylegan PATH.pkl --name RUN [--label LABEL] [--classes A,B] [--json]"""
import json

from django.core.management.base import BaseCommand, CommandError

from generator.importing import import_stylegan, summary
from generator.services import RunError


class Command(BaseCommand):
    help = ("Import a network snapshot from NVIDIA's StyleGAN2-ADA training (e.g. the CAN paper's c10000.pkl) "
            "as a finished run, without running anything in the file; generate, project, morph, gan_metrics "
            "and train_gan --resume then take it like any run.")

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH.pkl", help="The snapshot (network-snapshot-NNNNNN.pkl).")
        parser.add_argument("--name", required=True, help="Name of the new run (also its folder).")
        parser.add_argument("--label", default="",
                            help="What the network draws, e.g. melanoma: generate writes OUT/<label>/.")
        parser.add_argument("--classes", default="",
                            help="A conditional network's class names in index order, comma-separated "
                                 "(default 0,1,...): generate --class then takes a name.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object as the last line.")

    def handle(self, *args, **opts):
        classes = [c.strip() for c in opts["classes"].split(",")] if opts["classes"] else None
        try:
            run = import_stylegan(path=opts["path"], name=opts["name"], label=opts["label"], classes=classes)
        except RunError as exc:
            raise CommandError(str(exc)) from None
        info = summary(run)
        if opts["json"]:
            self.stdout.write(json.dumps(info))
            return
        classes = f", classes {', '.join(info['classes'])}" if info["classes"] else ""
        self.stdout.write(f"{run.name}: imported {run.imported_from} ({info['resolution']} px{classes}, "
                          f"{info['kimg']:g} kimg, p {run.augment_p:.3f}, G {info['parameters']['G']:,} and "
                          f"D {info['parameters']['D']:,} parameters), sha256 {run.source_sha256[:12]}")
