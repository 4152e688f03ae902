"""import_stylegan: a StyleGAN2-ADA snapshot becomes a finished run that generate and train_gan --resume
take like any other; files that would run code are refused and leave nothing behind."""
import hashlib
import json
import os
import pickle
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from generator.gan.checkpoint import load_checkpoint, load_generator
from generator.gan.config import get_config
from generator.gan.networks import Discriminator, Generator
from generator.models import TrainingRun
from generator.outputs import morph_images
from generator.services import RunError
from tests.gan import snapshot_writer

from .factory import train

pytestmark = pytest.mark.django_db


def make_snapshot(folder: Path, name="network-snapshot-000040.pkl", **cfg_overrides):
    """A tiny-config snapshot (what our writer makes in NVIDIA's layout) and the networks it holds."""
    cfg = replace(get_config("tiny")[0], **cfg_overrides)
    torch.manual_seed(1)
    G, G_ema, D = Generator(cfg), Generator(cfg), Discriminator(cfg)
    with torch.no_grad():
        G_ema.mapping.w_avg.normal_()
        for layer in G_ema.synthesis.noise_buffers():
            layer.normal_()
    path = snapshot_writer.write_snapshot(folder / name, cfg=cfg, G=G, G_ema=G_ema, D=D, augment_p=0.125)
    return path, G_ema


def import_json(path, *args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("import_stylegan", str(path), *args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def reference_image(G: Generator, seed: int, class_idx=None, psi=1.0) -> np.ndarray:
    """What NVIDIA's gen_images.py does for one seed: z from RandomState(seed), const noise, the uint8 rule."""
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.cfg.z_dim))
    c = None if class_idx is None else torch.tensor([class_idx])
    with torch.no_grad():
        img = G(z, c, psi=psi, noise_mode="const")
    return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()


def test_an_imported_snapshot_is_a_finished_run_whose_checkpoint_is_plain_data(tmp_path, media_root, client):
    path, G_ema = make_snapshot(tmp_path)
    info = import_json(path, "--name", "imp", "--label", "melanoma")
    run = TrainingRun.objects.get(name="imp")
    assert info == {**info, "run": "imp", "resolution": 32, "classes": [], "kimg": 40.0, "config": "tiny",
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert info["parameters"]["G"] == sum(p.numel() for p in G_ema.parameters())
    assert run.status == "done" and run.is_imported and run.dataset is None and run.discriminator_version == 2
    assert run.augment_p == pytest.approx(0.125) and run.imported_from == path.name
    ckpt = load_checkpoint(run.latest_checkpoint)  # weights_only=True: no pickled classes
    assert ckpt["source"]["sha256"] == run.source_sha256
    assert all(torch.equal(ckpt["G_ema"][k], v) for k, v in G_ema.state_dict().items())
    response = client.get(reverse("generator:run", args=["imp"]))
    page = response.content.decode()
    assert response.status_code == 200 and run.source_sha256 in page
    assert "Imported from" in page and "old discriminator" not in page


def test_generate_gives_the_reference_images_for_the_same_seeds(tmp_path, media_root):
    path, G_ema = make_snapshot(tmp_path)
    import_json(path, "--name", "imp", "--label", "melanoma")
    call_command("generate", "--run", "imp", "--seeds", "0-2", "--psi", "0.7", "--out", str(tmp_path / "out"),
                 "--now", verbosity=0)
    for seed in range(3):
        png = np.asarray(Image.open(tmp_path / "out" / "melanoma" / f"seed{seed:04d}.png"))
        diff = np.abs(png.astype(int) - reference_image(G_ema, seed, psi=0.7).astype(int))
        assert diff.max() <= 1, seed


def test_a_conditional_snapshot_generates_the_class_asked_by_name_or_index(tmp_path, media_root):
    path, G_ema = make_snapshot(tmp_path, "mn500.pkl", num_classes=2)
    info = import_json(path, "--name", "mn500", "--classes", "melanoma,nevus")
    assert info["classes"] == ["melanoma", "nevus"] and info["kimg"] == 500.0
    call_command("generate", "--run", "mn500", "--seeds", "3", "--class", "nevus", "--out", str(tmp_path / "o"),
                 "--now", verbosity=0)
    png = np.asarray(Image.open(tmp_path / "o" / "nevus" / "seed0003.png"))
    assert np.abs(png.astype(int) - reference_image(G_ema, 3, class_idx=1).astype(int)).max() <= 1
    run = TrainingRun.objects.get(name="mn500")
    result = morph_images(run=run, source="1", target="2", out_dir=tmp_path / "morph", frames=2, class_value="0")
    assert len(result["frames"]) == 2
    with pytest.raises(RunError, match="--class: run 'mn500' is class-conditional"):
        morph_images(run=run, source="1", target="2", out_dir=tmp_path / "morph2", frames=2)
    for bad, message in (("2", "not a class"), ("cat", "not a class"), ("²", "not a class"),
                         ("9" * 5000, "not a class"), (None, "is class-conditional")):
        args = ["generate", "--run", "mn500", "--seeds", "0", "--out", str(tmp_path / "x"), "--now"]
        with pytest.raises(CommandError, match=f"--class: .*{message}"):
            call_command(*args, *(["--class", bad] if bad else []))


def test_train_gan_resume_fine_tunes_an_imported_run_with_frozen_layers(tmp_path, media_root, dataset):
    path, G_ema = make_snapshot(tmp_path)
    import_json(path, "--name", "imp")
    child = train("ft", dataset="lesions", label="nevus", resume="imp", freeze_d=4)
    assert child.status == "done" and child.parent.name == "imp"
    assert child.init_checkpoint == TrainingRun.objects.get(name="imp").latest_checkpoint
    assert Path(child.latest_checkpoint).is_file()
    tuned = load_generator(child.latest_checkpoint)
    assert tuned.cfg == G_ema.cfg


class Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def test_a_pickle_that_would_run_code_is_refused_and_nothing_is_registered(tmp_path, media_root):
    marker = tmp_path / "ran"
    evil = tmp_path / "network-snapshot-000001.pkl"
    evil.write_bytes(pickle.dumps({"G_ema": Reduce(os.system, f"touch {marker}")}))
    with pytest.raises(CommandError, match=r"refused global (posix|os|nt)\.system"):
        call_command("import_stylegan", str(evil), "--name", "evil")
    assert not marker.exists()
    assert not TrainingRun.objects.exists()
    assert not (media_root / "gan-runs" / "evil").exists()


def test_bad_requests_get_one_clear_error_and_create_nothing(tmp_path, media_root):
    path, _ = make_snapshot(tmp_path)
    cases = [
        ([str(tmp_path / "missing.pkl"), "--name", "a"], "missing.pkl: no such file"),
        ([str(path), "--name", "../up"], "--name: '../up' is not a run name"),
        ([str(path), "--name", "a", "--classes", "x,y"], "--classes: this network is unconditional"),
        ([str(path), "--name", "a", "--label", "a/b"], "--label: 'a/b' is not a label"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            call_command("import_stylegan", *args)
    assert not TrainingRun.objects.exists() and not (media_root / "gan-runs").exists()
    import_json(path, "--name", "a")
    with pytest.raises(CommandError, match="--name: a run named 'a' exists"):
        call_command("import_stylegan", str(path), "--name", "a")


def test_the_run_page_says_when_a_run_was_trained_with_the_old_discriminator(client, dataset):
    gan = {k: v for k, v in asdict(get_config("tiny")[0]).items() if k != "d_architecture"}
    run = TrainingRun.objects.create(name="old", dataset=dataset, config_name="tiny", config={"gan": gan, "train": {}},
                                     total_kimg=1.0)
    assert run.discriminator_version == 1
    page = client.get(reverse("generator:run", args=["old"])).content.decode()
    assert "Trained with the old discriminator" in page


def test_a_checkpoint_that_cannot_be_written_leaves_no_run_and_no_folder(tmp_path, media_root, monkeypatch):
    import generator.gan.checkpoint as checkpoint

    path, _ = make_snapshot(tmp_path)

    def full_disk(target, payload, summary=None):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_checkpoint", full_disk)
    with pytest.raises(CommandError, match="--name: cannot write the run's checkpoint \\(No space left on device\\)"):
        call_command("import_stylegan", str(path), "--name", "full")
    assert not TrainingRun.objects.exists() and not (media_root / "gan-runs" / "full").exists()


def test_a_fine_tune_of_a_conditional_import_keeps_its_network(tmp_path, media_root, dataset):
    """The named config gives the schedule; the network (classes, shape) is the parent's own."""
    path, G_ema = make_snapshot(tmp_path, "mn500.pkl", num_classes=2)
    import_json(path, "--name", "mn500", "--classes", "melanoma,nevus")
    child = train("mn-ft", dataset="lesions", resume="mn500", freeze_d=2)
    assert child.status == "done" and child.config["gan"]["num_classes"] == 2
    assert load_generator(child.latest_checkpoint).cfg == G_ema.cfg


def test_gan_metrics_on_an_imported_run_compares_with_the_dataset_named(tmp_path, media_root, dataset,
                                                                        capsys):
    path, _ = make_snapshot(tmp_path)
    import_json(path, "--name", "imp")
    with pytest.raises(CommandError, match="--real: 'imp' was imported"):
        call_command("gan_metrics", "--run", "imp", "--images", "8")
    call_command("gan_metrics", "--run", "imp", "--images", "8", "--real", "lesions", "--real-label", "nevus")
    entry = TrainingRun.objects.get(name="imp").metrics[-1]
    assert entry["real"] == "lesions/nevus" and entry["fid"] is None and entry["num_images"] == 8
