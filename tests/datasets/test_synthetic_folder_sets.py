"""A synthetic set made elsewhere (the paper's GAN5000), imported as a folder or zip, feeds a Turing build."""
import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from tests.turing.factory import make_image_dataset, write_image
from turing.models import Truth, TuringImage, TuringSet

pytestmark = pytest.mark.django_db


def gan_zip(folder, per_class: int):
    """GAN5000 in miniature, inside a zip beside another set, as the authors' torrent ships it."""
    for label in ("melanoma", "nevus"):
        for i in range(per_class):
            write_image(folder / "GAN5000" / label / f"{label}{i:04d}.jpg", 100 + i, (64, 64), smooth=True, fmt="JPEG")
    archive = folder / "can.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((folder / "GAN5000").rglob("*.jpg")):
            z.write(path, path.relative_to(folder).as_posix())
        z.writestr("CAN2000/melanoma/real.jpg", (folder / "GAN5000" / "melanoma" / "melanoma0000.jpg").read_bytes())
    return archive


def test_a_turing_set_is_built_from_a_synthetic_set_imported_from_a_zip(tmp_path, media_root):
    make_image_dataset(tmp_path / "real", "REAL", 4)
    archive = gan_zip(tmp_path / "gan", 4)
    call_command("import_folder", str(archive), "--name", "GAN5000", "--subdir", "GAN5000", "--synthetic",
                 stdout=io.StringIO(), stderr=io.StringIO())
    call_command("build_turing_sets", "--real", "REAL", "--synthetic", "GAN5000", "--sets", "1", "--per-set", "8",
                 "--side", "32", stdout=io.StringIO())
    lesions = TuringImage.objects.filter(turing_set__in=TuringSet.objects.current(), kind="lesion")
    synthetic = lesions.filter(truth=Truth.SYNTHETIC)
    assert lesions.count() == 8 and synthetic.count() == 4
    assert {i.origin_dataset for i in synthetic} == {"GAN5000"}
    assert all(i.record.archive_member.startswith("GAN5000/") for i in synthetic)


def test_a_turing_set_is_built_from_a_synthetic_folder(tmp_path, media_root):
    make_image_dataset(tmp_path / "real", "REAL", 4)
    gan_zip(tmp_path / "gan", 4)
    call_command("import_folder", str(tmp_path / "gan" / "GAN5000"), "--name", "GAN5000", "--synthetic",
                 "--note", "figshare", stdout=io.StringIO())
    call_command("build_turing_sets", "--real", "REAL", "--synthetic", "GAN5000", "--sets", "1", "--per-set", "8",
                 "--side", "32", stdout=io.StringIO())
    assert TuringImage.objects.filter(truth=Truth.SYNTHETIC, kind="lesion").count() == 4


def test_a_real_folder_set_is_still_refused_as_a_synthetic_source_saying_why(tmp_path, media_root):
    make_image_dataset(tmp_path / "real", "REAL", 4)
    gan_zip(tmp_path / "gan", 4)
    call_command("import_folder", str(tmp_path / "gan" / "GAN5000"), "--name", "FORGOT", stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"^--synthetic: FORGOT is a folder dataset of real images; a folder "
                                           "of generated images is imported with import_folder --synthetic$"):
        call_command("build_turing_sets", "--real", "REAL", "--synthetic", "FORGOT", "--sets", "1", "--per-set", "8",
                     stdout=io.StringIO())
    assert not TuringSet.objects.exists()
