"""Short CPU training runs on a train/test split of the MED-NODE photos.

One run at 64 px (1 epoch, batch 16) on 119 photos ends in a full evaluation on the
other 51; the other runs use 24 photos at 32 px. They test the machinery, not the
accuracy, so AUCs are only checked to be valid numbers.
"""

import json

import pytest
import torch

from classifier.cnn import checkpoint, data
from classifier.cnn.evaluate import evaluate, predict
from classifier.cnn.metrics import youden_threshold
from classifier.cnn.train import TrainConfig, TrainingAborted, train

METRIC_KEYS = {"n", "n_pos", "n_neg", "threshold", "tp", "fp", "tn", "fn", "auc", "auc_se", "auc_ci", "roc",
               "acc", "acc_ci", "sens", "sens_ci", "spec", "spec_ci", "ppv", "ppv_ci", "npv", "npv_ci"}


def make_config(cache_dir, **overrides) -> TrainConfig:
    return TrainConfig(**{"epochs": 1, "batch": 16, "img_size": 64, "seed": 3, "device": "cpu",
                          "cache_dir": str(cache_dir), **overrides})


@pytest.fixture(scope="module")
def finished_run(lesion_split, shared_cache, tmp_path_factory):
    train_dir, _ = lesion_split
    out = tmp_path_factory.mktemp("run")
    progress = []
    result = train(make_config(shared_cache), [train_dir], out, progress_fn=progress.append)
    return result, out, progress


def test_a_short_cpu_run_finishes_with_a_full_evaluation(finished_run, lesion_split, shared_cache):
    result, out, progress = finished_run
    _, test_dir = lesion_split
    report = evaluate(result["checkpoint"], test_dir, device="cpu", cache_dir=shared_cache)
    assert report["n"] == 51 and len(report["predictions"]) == 51
    for key in ("at_05", "at_youden"):
        m = report[key]
        assert set(m) >= METRIC_KEYS and (m["n_pos"], m["n_neg"]) == (21, 30)
        assert 0.0 <= m["auc_ci"][0] <= m["auc"] <= m["auc_ci"][1] <= 1.0
    assert report["at_youden"]["threshold"] == result["youden_threshold"]
    assert all(0.0 <= p["prob"] <= 1.0 for p in report["predictions"])
    json.dumps(report, allow_nan=False)


def test_it_reports_progress_and_records_the_run(finished_run):
    result, out, progress = finished_run
    steps = [p for p in progress if p["phase"] == "train"]
    assert len(steps) == 8 and steps[-1]["step"] == 8  # 119 images in batches of 16
    assert {"epoch", "step", "loss", "images_per_s"} <= set(steps[0])
    assert result["weights"]["name"] == "imagenet-lite0" and len(result["weights"]["sha256"]) == 64
    assert result["normalization"] == {"mean": [0.5] * 3, "std": [0.5] * 3}
    assert result["threshold_source"] == "train" and 0 < result["youden_threshold"] < 1
    ckpt = checkpoint.load(out / "final.pt")  # weights_only: plain data
    assert ckpt["config"]["recipe"] == "reference" and ckpt["epoch"] == 1 and ckpt["step"] == 8
    assert json.loads((out / "final.json").read_text())["n_train"] == 119
    assert (out / "last.pt").exists() and (out / "last.json").exists()


def test_the_saved_threshold_is_youdens_on_the_training_images(finished_run, lesion_split, shared_cache):
    result, _, _ = finished_run
    rows = predict(result["checkpoint"], lesion_split[0], device="cpu", cache_dir=shared_cache)
    y, p = [label for _, label, _ in rows], [prob for _, _, prob in rows]
    assert result["youden_threshold"] == pytest.approx(youden_threshold(y, p), abs=1e-6)


def small_config(cache_dir, **overrides) -> TrainConfig:
    return make_config(cache_dir, **{"batch": 8, "img_size": 32, **overrides})


def assert_same_weights(ckpt_a, ckpt_b):
    a, b = checkpoint.load(ckpt_a)["model"], checkpoint.load(ckpt_b)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_same_seed_gives_the_same_model_and_another_seed_does_not(small_train_dir, shared_cache, tmp_path):
    runs = [train(small_config(shared_cache, seed=seed), [small_train_dir], tmp_path / str(i))
            for i, seed in enumerate((5, 5, 6))]
    assert_same_weights(runs[0]["checkpoint"], runs[1]["checkpoint"])
    assert runs[0]["youden_threshold"] == runs[1]["youden_threshold"]
    with pytest.raises(AssertionError):
        assert_same_weights(runs[0]["checkpoint"], runs[2]["checkpoint"])


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(small_train_dir, shared_cache, tmp_path):
    cfg = small_config(shared_cache, epochs=2, recipe="strong")  # strong: resumes its schedule too
    whole = train(cfg, [small_train_dir], tmp_path / "whole")
    steps = []
    with pytest.raises(TrainingAborted):  # stop in epoch 2 (3 steps an epoch), after epoch 1's last.pt
        train(cfg, [small_train_dir], tmp_path / "cut", progress_fn=steps.append,
              abort_fn=lambda: len([s for s in steps if s["phase"] == "train"]) >= 4)
    assert checkpoint.load(tmp_path / "cut" / "last.pt")["epoch"] == 1
    resumed = train(cfg, [small_train_dir], tmp_path / "cut")
    assert_same_weights(whole["checkpoint"], resumed["checkpoint"])
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in whole["history"]]
    assert train(cfg, [small_train_dir], tmp_path / "cut")["checkpoint"] == resumed["checkpoint"]  # done: no rerun


def test_the_second_epoch_does_not_decode_again(small_train_dir, tmp_path, monkeypatch):
    calls = []
    real = data.decode_resized
    monkeypatch.setattr(data, "decode_resized", lambda path, size: calls.append(path) or real(path, size))
    result = train(small_config(tmp_path / "fresh-cache", epochs=2), [small_train_dir], tmp_path / "run")
    assert len(result["history"]) == 2
    assert len(calls) == len(set(calls)) == 24  # each image decoded exactly once, before epoch 1


def test_a_validation_split_picks_the_threshold(small_train_dir, shared_cache, tmp_path):
    result = train(small_config(shared_cache), [small_train_dir], tmp_path, val_fraction=0.25)
    assert (result["n_train"], result["n_val"], result["threshold_source"]) == (18, 6, "validation")


def test_a_different_config_in_the_same_folder_is_refused(small_train_dir, shared_cache, tmp_path):
    train(small_config(shared_cache), [small_train_dir], tmp_path)
    (tmp_path / "final.pt").unlink()  # leave only last.pt, as after a crash
    with pytest.raises(ValueError, match="another config"):
        train(small_config(shared_cache, lr=0.01), [small_train_dir], tmp_path)


def test_the_command_line_evaluates_a_checkpoint(finished_run, lesion_split, tmp_path, capsys):
    from classifier.cnn import cli

    result, _, _ = finished_run
    assert cli.main(["evaluate", "--checkpoint", result["checkpoint"], "--test", str(lesion_split[1]),
                     "--device", "cpu", "--report", str(tmp_path / "report.json")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n"] == 51 and 0 <= summary["auc"] <= 1
    assert len(json.loads((tmp_path / "report.json").read_text())["predictions"]) == 51
