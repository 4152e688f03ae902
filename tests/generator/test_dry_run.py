"""train_gan --dry-run: the resolved options as the run would store them, and nothing created."""
import json
from dataclasses import asdict

import pytest
from django.core.management import CommandError, call_command

from generator import services
from generator.gan.config import get_config
from generator.models import TrainingRun

pytestmark = pytest.mark.django_db

PAPER_PRETRAIN = ["--config", "paper", "--kimg", "10000", "--checkpoint-every", "40"]


def dry_run(capsys, *args) -> dict:
    call_command("train_gan", *args, "--dry-run")
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1, "one JSON object, nothing else"
    return json.loads(out)


def make_parent(media_root, **gan) -> TrainingRun:
    checkpoint = media_root / "parent.pt"
    checkpoint.write_bytes(b"weights")  # --resume checks that the file exists; a dry run never reads it
    config = {"gan": {**asdict(get_config("paper")[0]), **gan}, "train": {}}
    return TrainingRun.objects.create(name="c10000", config_name="paper", config=config, total_kimg=10000,
                                      kimg=10000, status="done", latest_checkpoint=str(checkpoint))


def test_a_dry_run_prints_what_the_run_would_store_and_creates_nothing(dataset, media_root, capsys):
    printed = dry_run(capsys, "--name", "pre", "--dataset", "lesions", *PAPER_PRETRAIN)
    assert not TrainingRun.objects.exists() and not (media_root / "gan-runs").exists()
    run = services.create_run(name="pre", dataset=dataset, config_name="paper",
                              overrides={"kimg": 10000.0, "checkpoint_every_kimg": 40.0})
    assert printed == json.loads(json.dumps(run.config))
    assert printed["train"]["ema_kimg"] == 5.0 and printed["train"]["ema_rampup"] == 0.05
    assert printed["gan"]["w_avg_beta"] == 0.998


def test_a_dry_run_of_a_fine_tune_resolves_the_parent_network_ada_100_and_no_ema_rampup(dataset, media_root, capsys):
    make_parent(media_root, w_avg_beta=0.995)  # a network trained before the 0.998 default
    printed = dry_run(capsys, "--name", "mn500", "--dataset", "lesions", "--config", "paper", "--resume", "c10000",
                      "--freeze-d", "13", "--gamma", "32", "--kimg", "500", "--batch", "32")
    assert TrainingRun.objects.count() == 1
    train = printed["train"]
    assert (train["ada_kimg"], train["ema_rampup"], train["ema_kimg"]) == (100.0, None, 10.0)
    assert (train["freeze_d"], train["gamma"], train["batch"]) == (13, 32.0, 32)
    assert printed["gan"]["w_avg_beta"] == 0.995, "a fine-tune keeps the network it starts from"


def test_a_dry_run_of_an_existing_run_prints_its_continuation_and_changes_nothing(dataset, capsys):
    run = services.create_run(name="r", dataset=dataset, config_name="tiny", overrides={"kimg": 1.0})
    run.status, run.kimg = "done", 1.0
    run.save()
    printed = dry_run(capsys, "--name", "r", "--kimg", "3")
    assert printed["train"]["kimg"] == 3.0 and printed["gan"] == run.config["gan"]
    run.refresh_from_db()
    assert (run.total_kimg, run.status, run.config["train"]["kimg"]) == (1.0, "done", 1.0)


def test_a_dry_run_refuses_bad_flags_with_one_line(dataset, media_root):
    with pytest.raises(CommandError, match=r"^--freeze-d: the 512 px discriminator has 22 block layers; got 23$"):
        call_command("train_gan", "--name", "x", "--dataset", "lesions", "--config", "paper", "--freeze-d", "23",
                     "--dry-run")
    assert not TrainingRun.objects.exists()
