"""Flags shared by train_classifier and run_benchmark: the training recipe of an experiment."""
from cansite.cli import positive_float, positive_int
from classifier.services import DEFAULT_SETTINGS, resolve_settings


def add_training_flags(parser) -> None:
    group = parser.add_argument_group("training (defaults: the paper's reference recipe)")
    group.add_argument("--arch", default=DEFAULT_SETTINGS["arch"], help="timm architecture (default %(default)s).")
    start = group.add_mutually_exclusive_group()
    start.add_argument("--pretrained-weights", metavar="PATH",
                       help="Start from this state dict instead of the packaged ImageNet Lite0 weights.")
    start.add_argument("--from-scratch", action="store_true", help="Random initial weights (not comparable "
                       "with the paper).")
    group.add_argument("--recipe", default="reference", choices=["reference", "strong"],
                       help="reference: flips, RAdam, no schedule; strong: more augmentation, balanced, cosine.")
    group.add_argument("--epochs", type=positive_int, default=DEFAULT_SETTINGS["epochs"], help="Epochs (default 30).")
    group.add_argument("--batch", type=positive_int, default=DEFAULT_SETTINGS["batch"], help="Batch size (default 64).")
    group.add_argument("--lr", type=positive_float, default=DEFAULT_SETTINGS["lr"],
                       help="Learning rate (default 0.001).")
    group.add_argument("--img-size", type=positive_int, default=DEFAULT_SETTINGS["img_size"],
                       help="Pixels (default 224).")
    group.add_argument("--repeats", type=positive_int, default=1, help="Independent repeats, seeds 0..R-1 (paper: 10).")
    parser.add_argument("--now", action="store_true", help="Run in this process instead of queueing on gpu.")


def training_settings(opts) -> dict:
    weights = "" if opts["from_scratch"] else (opts["pretrained_weights"] or "imagenet-lite0")
    return resolve_settings(arch=opts["arch"], weights=weights, recipe=opts["recipe"], epochs=opts["epochs"],
                            batch=opts["batch"], lr=opts["lr"], img_size=opts["img_size"])


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
