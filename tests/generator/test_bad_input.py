"""train_gan and generate refuse bad flags with one line naming the flag, before anything is created."""
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from datasets.models import Dataset, ImageRecord
from generator.models import TrainingRun
from tests.conftest import REPO, subprocess_env
from tests.generator.factory import KIMG, train

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("flag, value, message", [
    ("--kimg", "inf", "--kimg: must be a finite number > 0"),
    ("--kimg", "nan", "--kimg: must be a finite number > 0"),
    ("--kimg", "-1", "--kimg: must be a finite number > 0"),
    ("--gamma", "nan", "--gamma: must be a finite number >= 0"),
    ("--batch", "0", "--batch: must be a whole number >= 1"),
    ("--freeze-d", "999", "--freeze-d: the 32 px discriminator has"),
    ("--name", "../../etc", "--name: '../../etc' is not a run name"),
    ("--name", "x" * 65, "is not a run name"),
])
def test_train_gan_refuses_bad_flags_and_creates_nothing(dataset, flag, value, message):
    args = {"--name": "run1", "--dataset": "lesions", "--config": "tiny", "--kimg": str(KIMG), flag: value}
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("train_gan", *[part for item in args.items() for part in item], "--now")
    assert not TrainingRun.objects.exists()


def test_train_gan_on_a_dataset_without_downloaded_images_is_refused_before_a_run_exists(dataset):
    ImageRecord.objects.update(status="pending")
    with pytest.raises(CommandError, match="--dataset: lesions has no downloaded images yet"):
        train(dataset="lesions")
    assert not TrainingRun.objects.exists()


@pytest.fixture
def trained(dataset):
    return train(dataset="lesions", label="melanoma")


@pytest.mark.parametrize("extra, message", [
    (["--seeds", "0-99999999"], "--seeds: 100,000,000 seeds; at most 100,000 per request"),
    (["--seeds", "5-2"], "--seeds: '5-2' runs backwards"),
    (["--seeds", "x"], "--seeds: 'x' is not a seed"),
    (["--seeds", "0-1", "--batch", "0"], "--batch: must be a whole number >= 1"),
    (["--seeds", "0-1", "--batch", "-5"], "--batch: must be a whole number >= 1"),
    (["--seeds", "0-1", "--psi", "nan"], "--psi: must be a finite number"),
    (["--seeds", "0-1", "--as", "../x"], "--as: dataset name '../x'"),
])
def test_generate_refuses_bad_flags_before_writing_anything(trained, tmp_path, extra, message):
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("generate", "--run", "run1", "--out", str(out), "--now", *extra)
    assert not out.exists() and not Dataset.objects.filter(kind="synthetic").exists()


def test_generate_refuses_an_out_that_is_a_file(trained, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    with pytest.raises(CommandError, match=r"--out: .* is a file"):
        call_command("generate", "--run", "run1", "--seeds", "0", "--out", str(target), "--now")


@pytest.mark.django_db(transaction=True)
def test_a_bad_flag_on_the_command_line_is_one_line_and_exit_status_2(media_root):
    done = subprocess.run([sys.executable, "manage.py", "train_gan", "--name", "x", "--kimg", "nan"], cwd=REPO,
                          env=subprocess_env(media_root), capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("argument --kimg: must be a finite number > 0, got 'nan'")
