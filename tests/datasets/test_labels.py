"""One label rule, applied at import: `Melanoma_2019` is melanoma to the classifier and the Turing test alike."""
import importlib

import pytest
from django.apps import apps

from classifier.cnn.data import scan_dirs
from datasets.models import Dataset, ImageRecord
from datasets.services import import_folder, import_manifest
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row, manifest_line, write_manifest
from turing.building import BuildOptions, pools
from turing.models import Truth

pytestmark = pytest.mark.django_db


def painted_folder(root, folders):
    for i, name in enumerate(folders):
        (root / name).mkdir(parents=True)
        w.make_photo(40, 30, seed=i).save(root / name / f"{i}.png")
    return root


def test_a_folder_named_melanoma_2019_is_melanoma_to_the_classifier_and_the_turing_test(tmp_path):
    real = painted_folder(tmp_path / "real", ["Melanoma_2019", "Nevus-2"])
    fake = painted_folder(tmp_path / "fake", ["melanoma", "naevus"])
    import_folder(path=real, name="REAL")
    import_folder(path=fake, name="GAN", kind=Dataset.Kind.SYNTHETIC)
    assert sorted(ImageRecord.objects.filter(dataset__name="REAL").values_list("label", flat=True)) == [
        "melanoma", "nevus"]
    found = pools(BuildOptions(real=["REAL"], synthetic=["GAN"], sets=1, per_set=4, seed=1, side=32), [])
    assert [len(found[(Truth.REAL, label)]) for label in ("melanoma", "nevus")] == [1, 1]
    assert sorted(label for _, label in scan_dirs(real)) == [0, 1]  # the classifier reading the same folders


def test_manifest_labels_are_stored_normalised(tmp_path):
    lines = [manifest_line("1", "MalignantMelanoma", "https://x.org/1.jpg"),
             manifest_line("2", "Melanocytic_Naevus", "https://x.org/2.jpg"),
             manifest_line("3", "bcc", "https://x.org/3.jpg")]
    import_manifest(path=write_manifest(tmp_path / "m.txt", lines), name="M")
    assert list(ImageRecord.objects.order_by("no").values_list("label", flat=True)) == ["melanoma", "nevus", "bcc"]
    again = import_manifest(path=tmp_path / "m.txt", name="M")
    assert (again.unchanged, again.updated, again.invalidated) == (3, 0, 0)  # no download reset


def test_the_migration_normalises_rows_stored_raw():
    dataset = make_dataset()
    for no, label in (("1", "malignantmelanoma"), ("2", "Melanoma_2019"), ("3", "naevus"), ("4", "bcc")):
        make_row(dataset, no, f"https://x.org/{no}.jpg", label=label)
    migration = importlib.import_module("datasets.migrations.0002_normalise_labels")
    migration.normalise_stored_labels(apps, None)
    assert list(ImageRecord.objects.order_by("no").values_list("label", flat=True)) == [
        "melanoma", "melanoma", "nevus", "bcc"]


def test_the_migration_normalises_run_labels_and_class_names_stored_raw():
    from generator.models import TrainingRun

    config = {"gan": {"num_classes": 2}, "train": {}, "classes": ["malignantmelanoma", "Naevus"]}
    TrainingRun.objects.create(name="raw", label="MalignantMelanoma", config_name="tiny", config=config, total_kimg=1)
    TrainingRun.objects.create(name="other", label="bcc", config_name="tiny", config={"gan": {}, "train": {}},
                               total_kimg=1)
    migration = importlib.import_module("generator.migrations.0004_normalise_labels")
    migration.normalise_run_labels(apps, None)
    raw, other = TrainingRun.objects.get(name="raw"), TrainingRun.objects.get(name="other")
    assert (raw.label, raw.config["classes"], other.label) == ("melanoma", ["melanoma", "nevus"], "bcc")


def test_a_run_label_is_normalised_when_the_run_is_made(dataset):
    from generator.services import create_run

    run = create_run(name="m", dataset=dataset, config_name="tiny", label="Malignant_Melanoma")
    assert run.label == "melanoma"
