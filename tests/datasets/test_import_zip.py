"""import_folder on zip archives (read in place, never extracted) and on synthetic sets made elsewhere."""
import io
import struct
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from datasets.export import export_dataset
from datasets.models import Dataset, ImageRecord
from datasets.services import import_folder
from datasets.sources import MAX_MEMBER_BYTES, ImageSource
from datasets.thumbnails import thumbnail_path
from tests.conftest import REPO, subprocess_env
from tests.datasets import webserver as w
from tests.datasets.test_import_folder_safety import MEASURE

pytestmark = pytest.mark.django_db


def make_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)  # writestr keeps hostile names ('../x', '/x') as given
    return path


def torrent_like(path):
    """The authors' torrent in miniature: three sets in one zip, each PATH/<label>/<image>."""
    return make_zip(path, {
        "GAN5000/melanoma/0001.jpg": w.jpeg_bytes(w.make_photo(seed=1)),
        "GAN5000/melanoma/0002.jpg": w.jpeg_bytes(w.make_photo(seed=2)),
        "GAN5000/nevus/0003.png": w.png_bytes(w.make_photo(60, 40, seed=3)),
        "GAN5000/readme.txt": b"five thousand synthetic images",
        "CAN2000/melanoma/real.jpg": w.jpeg_bytes(w.make_photo(seed=4)),
        "__MACOSX/GAN5000/._0001.jpg": b"finder fork",
    })


def test_a_zip_subdir_is_imported_in_place_as_a_synthetic_set_with_its_provenance(tmp_path, capsys):
    archive = torrent_like(tmp_path / "can.zip")
    call_command("import_folder", str(archive), "--name", "GAN5000", "--subdir", "GAN5000", "--synthetic",
                 "--note", "GAN5000 from the authors' torrent")
    out, err = capsys.readouterr()
    assert "GAN5000: 3 files (melanoma 2, nevus 1): 3 imported" in out
    assert "GAN5000/readme.txt: skipped: not in a class folder" in err and "real.jpg" not in out + err
    dataset = Dataset.objects.get(name="GAN5000")
    assert (dataset.kind, dataset.description) == ("synthetic", "GAN5000 from the authors' torrent")
    row = dataset.images.get(no="nevus/0003.png")
    assert (row.status, row.width, row.height) == ("ok", 60, 40)
    assert (row.source_path, row.archive_member) == (str(archive.resolve()), "GAN5000/nevus/0003.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["can.zip"]  # nothing extracted
    again = import_folder(path=archive, name="GAN5000", kind="synthetic", subdir="GAN5000")
    assert (again.imported, again.unchanged) == (0, 3)


def test_zip_backed_images_export_thumbnail_and_show_their_provenance(tmp_path, media_root, admin_client):
    archive = torrent_like(tmp_path / "can.zip")
    import_folder(path=archive, name="GAN5000", kind="synthetic", subdir="GAN5000", note="figshare, CAN paper")
    summary = export_dataset(dataset=Dataset.objects.get(name="GAN5000"), dest=tmp_path / "out")
    assert (summary.written, summary.failed) == (3, 0)
    with zipfile.ZipFile(archive) as z:
        assert (tmp_path / "out" / "melanoma" / "0001.jpg").read_bytes() == z.read("GAN5000/melanoma/0001.jpg")
    square = export_dataset(dataset=Dataset.objects.get(name="GAN5000"), dest=tmp_path / "sq", square=True, size=16)
    assert square.written == 3 and Image.open(tmp_path / "sq" / "nevus" / "0003.png").size == (16, 16)
    thumb = thumbnail_path(ImageRecord.objects.get(no="melanoma/0002.jpg"))
    assert thumb is not None and Image.open(thumb).format == "JPEG"
    page = admin_client.get("/datasets/GAN5000/").content.decode()
    assert "Provenance:</strong> figshare, CAN paper" in page


@pytest.mark.parametrize("hostile", [
    "../melanoma/evil.jpg", "/etc/melanoma/evil.jpg", "melanoma/../../evil.jpg", "melanoma\\..\\evil.jpg",
    "C:/melanoma/evil.jpg", "./melanoma/evil.jpg",
])
def test_a_name_that_would_extract_outside_is_skipped_and_never_opened(tmp_path, capsys, hostile):
    archive = make_zip(tmp_path / "x.zip", {"melanoma/good.jpg": w.jpeg_bytes(w.make_photo()),
                                             hostile: w.jpeg_bytes(w.make_photo(seed=9))})
    summary = import_folder(path=archive, name="x")
    assert summary.imported == 1 and [s.path.split(":", 1)[1] for s in summary.skipped] == [hostile]
    assert "unsafe name" in summary.skipped[0].why
    assert list(ImageRecord.objects.values_list("no", flat=True)) == ["melanoma/good.jpg"]


def test_a_subdir_cannot_climb_out_of_the_archive(tmp_path):
    archive = make_zip(tmp_path / "x.zip", {"a/melanoma/good.jpg": w.jpeg_bytes(w.make_photo())})
    with pytest.raises(CommandError, match=r"^--subdir a/\.\./a: not a plain folder name") as caught:
        call_command("import_folder", str(archive), "--name", "x", "--subdir", "a/../a")
    assert caught.value.returncode == 2 and not Dataset.objects.exists()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s uncompressed size rewritten in both headers: a zip bomb's claim."""
    data = bytearray(data)
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while data[at + name_at:at + name_at + len(name)] != name.encode():
            at = data.find(signature, at + 1)
        data[at + offset:at + offset + 4] = struct.pack("<I", size)
    return bytes(data)


def test_a_member_declaring_a_huge_size_fails_before_a_byte_is_inflated(tmp_path):
    plain = make_zip(io.BytesIO(), {"nevus/good.jpg": w.jpeg_bytes(w.make_photo()),
                                    "nevus/bomb.png": w.png_bytes(w.make_photo())}).getvalue()
    (tmp_path / "bomb.zip").write_bytes(declare_size(plain, "nevus/bomb.png", 0xF000_0000))
    summary = import_folder(path=tmp_path / "bomb.zip", name="x")
    bomb = ImageRecord.objects.get(no="nevus/bomb.png")
    assert (summary.imported, summary.unreadable, bomb.status, bomb.failure_reason) == (2, 1, "failed", "unreadable")
    assert f"over the {MAX_MEMBER_BYTES // 2**20} MB limit" in bomb.failure_detail
    assert ImageRecord.objects.get(no="nevus/good.jpg").status == "ok"


def test_corrupt_and_undecodable_members_are_listed_and_failed(tmp_path, capsys):
    good, bad = w.jpeg_bytes(w.make_photo(seed=1)), w.jpeg_bytes(w.make_photo(seed=2))
    data = bytearray(make_zip(io.BytesIO(), {"nevus/good.jpg": good, "nevus/crc.jpg": bad, "nevus/page.jpg":
                                             b"<html>not an image</html>"}, zipfile.ZIP_STORED).getvalue())
    at = data.find(bad) + len(bad) // 2
    data[at:at + 8] = bytes(8)  # stored bytes changed under the member's CRC
    (tmp_path / "c.zip").write_bytes(bytes(data))
    call_command("import_folder", str(tmp_path / "c.zip"), "--name", "c")
    err = capsys.readouterr().err
    assert "c.zip:nevus/crc.jpg: unreadable: " in err and "Bad CRC-32" in err
    assert "c.zip:nevus/page.jpg: unreadable: " in err
    assert dict(ImageRecord.objects.values_list("no", "status")) == {
        "nevus/good.jpg": "ok", "nevus/crc.jpg": "failed", "nevus/page.jpg": "failed"}


def test_a_member_past_the_pixel_limit_is_refused_before_decoding(tmp_path):
    buffer = io.BytesIO()
    Image.new("1", (9500, 9500)).save(buffer, "PNG")  # 90.3 MP in a few kB
    import_folder(path=make_zip(tmp_path / "p.zip", {"nevus/huge.png": buffer.getvalue()}), name="p")
    assert ImageRecord.objects.get().failure_reason == "decompression-bomb"


@pytest.mark.parametrize("make, args, message", [
    (lambda p: p / "missing.zip", [], "PATH .*missing.zip: not a folder"),
    (lambda p: (p / "fake.zip").write_bytes(b"PK\x03\x04 not really") and p / "fake.zip", [],
     "PATH .*fake.zip: not a folder, and not a zip archive"),
    (torrent_like, ["--subdir", "GAN9000"], "--subdir GAN9000: no such folder in .* \\(it has: CAN2000, GAN5000"),
    (torrent_like, [], "PATH .*: no class folders"),
])
def test_bad_path_or_subdir_is_one_line_exit_2_and_nothing_created(tmp_path, make, args, message):
    target = make(tmp_path / "t.zip") if make is torrent_like else make(tmp_path)
    with pytest.raises(CommandError, match=message) as caught:
        call_command("import_folder", str(target), "--name", "x", *args)
    assert caught.value.returncode == 2 and "\n" not in str(caught.value)
    assert not Dataset.objects.exists()


def test_an_image_source_reopens_a_member_checked_again(tmp_path):
    archive = make_zip(tmp_path / "x.zip", {"nevus/a.jpg": w.jpeg_bytes(w.make_photo())})
    assert ImageSource(archive, "nevus/a.jpg").exists() and not ImageSource(archive, "nevus/b.jpg").exists()
    with pytest.raises(OSError, match="no such member"):
        ImageSource(archive, "nevus/b.jpg").open()


def test_subdir_also_picks_a_folder_inside_a_folder_path_and_may_not_leave_it(tmp_path):
    (tmp_path / "torrent" / "GAN5000" / "nevus").mkdir(parents=True)
    (tmp_path / "torrent" / "GAN5000" / "nevus" / "a.jpg").write_bytes(w.jpeg_bytes(w.make_photo()))
    (tmp_path / "outside" / "nevus").mkdir(parents=True)
    summary = import_folder(path=tmp_path / "torrent", name="g", subdir="GAN5000", kind="synthetic")
    assert summary.imported == 1 and Dataset.objects.get().source == str(tmp_path / "torrent" / "GAN5000")
    (tmp_path / "torrent" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(CommandError, match=r"^--subdir link: no such folder in") as caught:
        call_command("import_folder", str(tmp_path / "torrent"), "--name", "h", "--subdir", "link")
    assert caught.value.returncode == 2 and not Dataset.objects.filter(name="h").exists()


@pytest.mark.django_db(transaction=True)
def test_a_large_member_is_streamed_never_read_whole_into_memory(tmp_path, media_root):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z, z.open("nevus/big.jpg", "w") as f:
        for _ in range(200):  # 200 MB of zeros, 200 kB deflated
            f.write(bytes(2**20))
    done = subprocess.run([sys.executable, "-c", MEASURE, str(archive)], cwd=REPO, env=subprocess_env(media_root),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after = (int(kb) / 1024 for kb in done.stdout.split()[-2:])
    assert after - before < 100, f"peak RSS grew by {after - before:.0f} MB: the 200 MB member was read whole"
    assert ImageRecord.objects.get(no="nevus/big.jpg").failure_reason == "unreadable"
