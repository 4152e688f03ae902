"""The packaged EfficientNet-Lite0 ImageNet weights in timm's network, and other starts."""

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.datasets import load_sample_images
from timm.data import ImageNetInfo

from classifier.cnn.models import (
    LITE0_MEAN,
    LITE0_STD,
    Normalize,
    create_model,
    lite0_package_path,
    map_in_order,
)
from common.files import sha256_of

# EfficientNet-Lite0 as the TensorFlow original defines it (efficientnet_lite_builder.py):
# (repeats, kernel, stride, expand ratio, output channels) per stage; no squeeze-excite,
# ReLU6, TF "SAME" padding, BatchNorm eps 1e-3, stem 32 and head 1280 channels.
LITE0_STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]

# ImageNet classes a sensible model may see in scikit-learn's two sample photographs.
FLOWER_CLASSES = {985: "daisy", 309: "bee", 738: "pot", 883: "vase", 301: "ladybug", 946: "cardoon"}
CHINA_CLASSES = {442: "bell cote", 698: "palace", 483: "castle", 663: "monastery", 497: "church",
                 832: "stupa", 668: "mosque", 449: "boathouse", 975: "lakeside", 525: "dam"}


def conv_same(x, w, stride=1, groups=1):
    """TensorFlow SAME padding: output ceil(in / stride), extra pixel at the bottom/right."""
    pads = []
    for size, k in ((x.shape[3], w.shape[3]), (x.shape[2], w.shape[2])):
        total = max((-(-size // stride) - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.conv2d(F.pad(x, pads), w, stride=stride, groups=groups)


def reference_lite0(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """The package's network written out by parameter *name*, independently of timm."""
    def bn(t, name):
        return F.batch_norm(t, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"],
                            sd[f"{name}.bias"], training=False, eps=1e-3)

    x = F.relu6(bn(conv_same(x, sd["_conv_stem.weight"], 2), "_bn0"))
    i, channels = 0, 32
    for repeats, _, stride, expand, out in LITE0_STAGES:
        for r in range(repeats):
            p, s, inp = f"_blocks.{i}", stride if r == 0 else 1, x
            if expand != 1:
                x = F.relu6(bn(conv_same(x, sd[f"{p}._expand_conv.weight"]), f"{p}._bn0"))
            x = F.relu6(bn(conv_same(x, sd[f"{p}._depthwise_conv.weight"], s, groups=x.shape[1]), f"{p}._bn1"))
            x = bn(conv_same(x, sd[f"{p}._project_conv.weight"]), f"{p}._bn2")
            if s == 1 and channels == out:
                x = x + inp
            i, channels = i + 1, out
    x = F.relu6(bn(conv_same(x, sd["_conv_head.weight"]), "_bn1"))
    return F.linear(x.mean(dim=(2, 3)), sd["_fc.weight"], sd["_fc.bias"])


@pytest.fixture(scope="module")
def imagenet_lite0():
    model, start = create_model(num_classes=1000)
    return model.eval(), start


def sample_photo(name: str, size: int = 224) -> torch.Tensor:
    images = load_sample_images()
    (pixels,) = [im for f, im in zip(images.filenames, images.images) if f.endswith(name)]
    resized = np.array(Image.fromarray(pixels).resize((size, size), Image.BILINEAR))
    return torch.from_numpy(resized).permute(2, 0, 1)[None]


@pytest.mark.parametrize("photo,plausible", [("flower.jpg", FLOWER_CLASSES), ("china.jpg", CHINA_CLASSES)])
def test_the_lite0_weights_classify_sample_photos_sensibly(imagenet_lite0, photo, plausible):
    model, start = imagenet_lite0
    with torch.no_grad():
        probs = model(Normalize(start.mean, start.std)(sample_photo(photo))).softmax(dim=1)[0]
    top5 = probs.topk(5).indices.tolist()
    info = ImageNetInfo()
    names = [info.index_to_description(i) for i in top5]
    assert top5[0] in plausible, f"{photo}: top-1 is {names[0]}; top-5 {names}"
    assert len(set(top5) & set(plausible)) >= 2, f"{photo}: top-5 {names}"
    assert probs[top5[0]] > 0.1  # a real opinion, not the near-uniform output of random weights


def test_timm_logits_equal_the_reference_network(imagenet_lite0):
    model, _ = imagenet_lite0
    sd = torch.load(lite0_package_path(), map_location="cpu", weights_only=True)
    x = (sample_photo("flower.jpg", 200).float() - 127.5) / 127.5  # 200 px: odd SAME paddings too
    x = torch.cat([x, torch.randn(1, 3, 200, 200)])
    with torch.no_grad():
        ours, reference = model(x), reference_lite0(sd, x)
    # Measured here: at most 5e-6 apart (float32 rounding in a different order of operations).
    assert torch.allclose(ours, reference, atol=1e-4, rtol=0), (ours - reference).abs().max()
    assert ours.argmax(1).tolist() == reference.argmax(1).tolist()


def test_lite0_normalisation_is_the_tensorflow_scaling(imagenet_lite0):
    _, start = imagenet_lite0
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).expand(1, 3, 16, 16)
    assert (start.mean, start.std) == (LITE0_MEAN, LITE0_STD)
    assert torch.equal(Normalize(start.mean, start.std)(x), (x.float() - 127.5) / 127.5)


def test_it_records_the_starting_weights_and_replaces_the_head():
    model, start = create_model()
    assert start.name == "imagenet-lite0" and start.pretrained
    assert start.sha256 == sha256_of(lite0_package_path()) and len(start.sha256) == 64
    assert model.get_classifier().out_features == 2
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 2)


def test_the_in_order_mapping_refuses_a_network_that_does_not_fit():
    sd = torch.load(lite0_package_path(), map_location="cpu", weights_only=True)
    with pytest.raises(ValueError, match="not the same network"):
        map_in_order(sd, timm.create_model("tf_efficientnet_lite1", pretrained=False))
    broken = dict(sd)
    broken["_blocks.3._depthwise_conv.weight"] = torch.zeros(144, 1, 3, 3)
    with pytest.raises(ValueError, match=r"tensor \d+: source _blocks.3._depthwise_conv.weight"):
        map_in_order(broken, timm.create_model("tf_efficientnet_lite0", pretrained=False))
    with pytest.raises(ValueError, match="fit arch"):
        create_model("resnet18", "imagenet-lite0")


def test_it_starts_from_a_state_dict_file_and_skips_an_unfitting_head(tmp_path):
    source, _ = create_model(num_classes=1000)
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    model, start = create_model(weights=str(path))
    assert (start.name, start.sha256, start.mean) == ("file", sha256_of(path), (0.5, 0.5, 0.5))
    assert torch.equal(model.conv_stem.weight, source.conv_stem.weight)
    assert model.get_classifier().out_features == 2


def test_from_scratch_is_recorded_as_not_pretrained():
    model, start = create_model("tf_efficientnet_lite0", None)
    assert (start.name, start.pretrained, start.sha256) == ("scratch", False, "")
    assert start.mean == (0.485, 0.456, 0.406)
