"""Read a network snapshot written by NVIDIA's StyleGAN2-ADA training, without running anything in it.

A snapshot (`network-snapshot-000500.pkl`, or the CAN paper's `c10000.pkl`) is a plain pickle of
`dict(G, D, G_ema, augment_pipe, training_set_kwargs)`. Each network is a "persistent" object:
its pickle names a reconstructor and carries its class's module source, its constructor
arguments and its `__dict__` (parameters, buffers, submodules). An ordinary unpickler would run
that source. Ours resolves only the few globals on `ALLOWED` (tensor and storage rebuilds, ordered
dicts, sets, number types, and the reconstructor, which becomes `PersistentObject`: it keeps the
saved state and never looks at the source); any other global is refused by name.

The networks' constructor arguments give our `GANConfig`; their tensors, renamed, give our
state_dicts (a shape mismatch or an unsupported architecture names the parameter):

    snap = read_snapshot("c10000.pkl")       # -> Snapshot(gan_cfg, G, G_ema, D, augment_p, ...)
    G = Generator(snap.gan_cfg); G.load_state_dict(snap.G_ema)

Name maps between our networks and the reference's are in `generator_names` / `discriminator_names`.
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import ConfigError, GANConfig
from .networks import Discriminator, Generator

RECONSTRUCTOR = ("torch_utils.persistence", "_reconstruct_persistent_obj")
BLUR_FILTER = torch.outer(torch.tensor([1.0, 3.0, 3.0, 1.0]), torch.tensor([1.0, 3.0, 3.0, 1.0])) / 64


class SnapshotError(ValueError):
    """The file is not a snapshot we can import; the message names the global, network or parameter."""


# ---- the restricted unpickler -------------------------------------------------------------------

class PersistentObject:
    """Stands in for a reference network module: its saved class name, constructor arguments and
    state. `module_src` is kept only as data: nothing here executes or parses it."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
            raise SnapshotError("persistent object: its metadata is not a dict with a state")
        self.class_name = str(meta.get("class_name", ""))
        self.module_src = meta.get("module_src")
        self.state = meta["state"]

    @property
    def init_kwargs(self) -> dict:
        kwargs = self.state.get("_init_kwargs") or {}
        return dict(kwargs) if isinstance(kwargs, dict) else {}


class EasyDict(dict):
    """NVIDIA's attribute dict, read as a plain dict."""


def _storage_from_bytes(data):
    """A storage pickled by torch (a legacy torch.save inside the pickle), read with weights_only."""
    if not isinstance(data, bytes):
        raise SnapshotError("torch.storage._load_from_bytes: its argument is not bytes")
    storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if not isinstance(storage, torch.storage.TypedStorage):
        raise SnapshotError("torch.storage._load_from_bytes: did not give a storage")
    return storage


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    if not isinstance(storage, torch.storage.TypedStorage):
        raise SnapshotError("torch._utils._rebuild_tensor_v2: its storage is not a torch storage")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    # set_ does not check bounds itself: a crafted size could read past the storage.
    if offset < 0 or min(stride, default=0) < 0 or len(size) != len(stride) or last >= storage.size():
        raise SnapshotError(f"torch._utils._rebuild_tensor_v2: size {size} runs past its storage")
    return torch.empty((0,), dtype=storage.dtype).set_(storage._untyped_storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    if not isinstance(data, torch.Tensor):
        raise SnapshotError("torch._utils._rebuild_parameter: its data is not a tensor")
    return data


class _Dtype:
    """numpy.dtype, reduced to the number types a snapshot's scalars use."""

    NUMERIC = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"}

    def __init__(self, name, align=False, copy=True):
        if name not in self.NUMERIC:
            raise SnapshotError(f"numpy.dtype: {name!r} is not a number type")
        self.name, self.order = name, "<"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in "<>|=":
            self.order = state[1]


def _np_scalar(dtype, data=None):
    if not isinstance(dtype, _Dtype) or not isinstance(data, bytes):
        raise SnapshotError("numpy scalar: only numbers are allowed")
    order = "<" if dtype.order in "|=" else dtype.order
    return np.frombuffer(data, dtype=np.dtype(order + dtype.name))[0].item()


ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("numpy", "dtype"): _Dtype,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    RECONSTRUCTOR: PersistentObject,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise SnapshotError(f"refused global {module}.{name}: a snapshot may only hold networks "
                                f"and tensors") from None

    def persistent_load(self, pid):
        raise SnapshotError(f"refused persistent id {str(pid)[:40]!r}: not a plain network pickle")


def load_pickle(path) -> dict:
    """The snapshot's top-level dict; every object in it is plain data, a tensor or a PersistentObject."""
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="TypedStorage is deprecated")  # storages are how tensors pickle
            data = RestrictedUnpickler(f).load()
    except SnapshotError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            RuntimeError) as exc:
        raise SnapshotError(f"not a readable pickle ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise SnapshotError("not a network snapshot: the pickle is not a dict")
    return data


# ---- the reference's names for our parameters -------------------------------------------------

def generator_names(cfg: GANConfig) -> dict[str, str]:
    """Our Generator state_dict key -> the reference's key."""
    names = {"mapping.w_avg": "mapping.w_avg"}
    if cfg.num_classes:
        names.update({f"mapping.embed.{p}": f"mapping.embed.{p}" for p in ("weight", "bias")})
    for i in range(cfg.mapping_layers):
        names.update({f"mapping.layers.{i}.{p}": f"mapping.fc{i}.{p}" for p in ("weight", "bias")})
    for k, res in enumerate(2**i for i in range(2, cfg.log2_res + 1)):
        ours, ref = f"synthesis.blocks.{k}", f"synthesis.b{res}"
        if res == 4:
            names[f"{ours}.const"] = f"{ref}.const"
        for conv in ("conv0", "conv1") if res > 4 else ("conv1",):
            names.update({
                f"{ours}.{conv}.conv.weight": f"{ref}.{conv}.weight",
                f"{ours}.{conv}.conv.affine.weight": f"{ref}.{conv}.affine.weight",
                f"{ours}.{conv}.conv.affine.bias": f"{ref}.{conv}.affine.bias",
                f"{ours}.{conv}.noise_strength": f"{ref}.{conv}.noise_strength",
                f"{ours}.{conv}.noise_const": f"{ref}.{conv}.noise_const",
                f"{ours}.{conv}.bias": f"{ref}.{conv}.bias"})
        names.update({f"{ours}.torgb.conv.weight": f"{ref}.torgb.weight",
                      f"{ours}.torgb.conv.affine.weight": f"{ref}.torgb.affine.weight",
                      f"{ours}.torgb.conv.affine.bias": f"{ref}.torgb.affine.bias",
                      f"{ours}.torgb.bias": f"{ref}.torgb.bias"})
    return names


def discriminator_names(cfg: GANConfig) -> dict[str, str]:
    """Our (v2) Discriminator state_dict key -> the reference's key."""
    names = {}
    for k, res in enumerate(2**i for i in range(cfg.log2_res, 2, -1)):
        ours, ref = f"blocks.{k}", f"b{res}"
        layers = (["fromrgb"] if k == 0 else []) + ["conv0", "conv1"]
        for layer in layers:
            names.update({f"{ours}.{layer}.{p}": f"{ref}.{layer}.{p}" for p in ("weight", "bias")})
        names[f"{ours}.skip.weight"] = f"{ref}.skip.weight"
    for layer in ("conv", "fc", "out"):
        names.update({f"{layer}.{p}": f"b4.{layer}.{p}" for p in ("weight", "bias")})
    if cfg.num_classes:
        names.update({f"mapping.embed.{p}": f"mapping.embed.{p}" for p in ("weight", "bias")})
        for i in range(cfg.d_mapping_layers):
            names.update({f"mapping.layers.{i}.{p}": f"mapping.fc{i}.{p}" for p in ("weight", "bias")})
    return names


# ---- from the reference's objects to our config and state_dicts -------------------------------

def module_tensors(obj: PersistentObject, where: str) -> dict[str, torch.Tensor]:
    """Every parameter and buffer of a persistent module tree, by dotted name (as a state_dict)."""
    found: dict[str, torch.Tensor] = {}
    for kind in ("_parameters", "_buffers"):  # frozen reference layers keep their weights as buffers
        for name, value in (obj.state.get(kind) or {}).items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise SnapshotError(f"{where}.{name}: not a tensor")
            found[name] = value
    for name, sub in (obj.state.get("_modules") or {}).items():
        if sub is None:
            continue
        if not isinstance(sub, PersistentObject):
            raise SnapshotError(f"{where}.{name}: not a network module")
        found.update({f"{name}.{k}": v for k, v in module_tensors(sub, f"{where}.{name}").items()})
    return found


def map_state(ref: dict[str, torch.Tensor], names: dict[str, str], model: torch.nn.Module,
              where: str) -> dict[str, torch.Tensor]:
    """Our state_dict from the reference's tensors; every reference tensor must be used or known."""
    expected = model.state_dict()
    state = {}
    for ours, theirs in names.items():
        if theirs not in ref:
            raise SnapshotError(f"{where}.{theirs}: missing from the snapshot")
        tensor = ref[theirs]
        if tuple(tensor.shape) != tuple(expected[ours].shape):
            raise SnapshotError(f"{where}.{theirs}: shape {list(tensor.shape)} does not match the "
                                f"architecture's {list(expected[ours].shape)}")
        state[ours] = tensor.detach().to(torch.float32).clone()
    for theirs, tensor in ref.items():
        if theirs.endswith("resample_filter"):
            if tensor.shape != BLUR_FILTER.shape or not torch.allclose(tensor.float(), BLUR_FILTER):
                raise SnapshotError(f"{where}.{theirs}: unsupported filter (only [1, 3, 3, 1])")
        elif theirs not in names.values():
            raise SnapshotError(f"{where}.{theirs}: unsupported parameter (not in the StyleGAN2 architecture)")
    return state


@dataclass
class Snapshot:
    gan_cfg: GANConfig
    G: dict
    G_ema: dict
    D: dict
    augment_p: float = 0.0
    training_set: dict = field(default_factory=dict)


def read_snapshot(path) -> Snapshot:
    """Everything our runs need from a reference snapshot (see the module docstring)."""
    data = load_pickle(path)
    for key in ("G_ema", "D"):
        if not isinstance(data.get(key), PersistentObject):
            raise SnapshotError(f"{key}: missing, or not a network (is this a network snapshot?)")
    cfg = snapshot_config(data["G_ema"], data["D"])
    with torch.device("meta"):  # only the shapes: no memory, no time
        G, D = Generator(cfg), Discriminator(cfg)
    g_names, d_names = generator_names(cfg), discriminator_names(cfg)
    states = {key: map_state(module_tensors(data[key], key), g_names, G, key) for key in ("G_ema", "G")
              if isinstance(data.get(key), PersistentObject)}
    states.setdefault("G", states["G_ema"])  # a file without the training G: fine-tuning starts from G_ema
    states["D"] = map_state(module_tensors(data["D"], "D"), d_names, D, "D")
    training_set = data.get("training_set_kwargs")
    return Snapshot(cfg, states["G"], states["G_ema"], states["D"], augment_probability(data.get("augment_pipe")),
                    dict(training_set) if isinstance(training_set, dict) else {})


def checkpoint_payload(snap: Snapshot, *, train_cfg, kimg: float, labels: list[str], source: dict) -> dict:
    """A checkpoint in our own plain-data format (see checkpoint.py) holding the snapshot's networks.
    It has no optimizer or RNG state: it starts fine-tunes (init_from) and serves samples."""
    from dataclasses import asdict

    return {"gan_config": asdict(snap.gan_cfg), "train_config": asdict(train_cfg), "labels": list(labels),
            "G": snap.G, "D": snap.D, "G_ema": snap.G_ema,
            "augment": {"p": snap.augment_p, "sign_sum": 0.0, "count": 0.0},
            "counters": {"step": 0, "images_seen": round(kimg * 1000), "kimg": kimg}, "source": source}


def augment_probability(pipe) -> float:
    if not isinstance(pipe, PersistentObject):
        return 0.0
    p = (pipe.state.get("_buffers") or {}).get("p")
    if not isinstance(p, torch.Tensor) or p.numel() != 1 or not 0.0 <= float(p) <= 1.0:
        raise SnapshotError("augment_pipe.p: not a probability")
    return round(float(p), 6)  # a float32: more digits would only be its rounding error


G_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")  # the reference's positional order
D_ARGS = ("c_dim", "img_resolution", "img_channels")


def constructor_kwargs(obj: PersistentObject, positional: tuple[str, ...], where: str) -> dict:
    args = obj.state.get("_init_args") or ()
    if not isinstance(args, (tuple, list)) or len(args) > len(positional):
        raise SnapshotError(f"{where}: unexpected constructor arguments {args!r:.60}")
    kwargs = {**dict(zip(positional, args)), **obj.init_kwargs}
    for name in positional:
        if not isinstance(kwargs.get(name), int):
            raise SnapshotError(f"{where}.{name}: constructor argument missing or not an integer")
    return kwargs


def _unsupported(where: str, value, wanted) -> None:
    if value not in wanted:
        raise SnapshotError(f"{where}: {value!r} is not supported (only {wanted[0]!r}: StyleGAN2 networks)")


def check_stylegan2(G: PersistentObject) -> None:
    synthesis = (G.state.get("_modules") or {}).get("synthesis")
    if not isinstance(synthesis, PersistentObject):
        raise SnapshotError("G_ema.synthesis: missing")
    for name in synthesis.state.get("_modules") or {}:
        if not (name.startswith("b") and name[1:].isdigit()):
            raise SnapshotError(f"G_ema.synthesis.{name}: a StyleGAN3 (-T/-R) generator is not supported; "
                                f"only StyleGAN2 networks (stylegan3 --cfg=stylegan2)")


def reference_defaults(g: dict) -> dict:
    """Defaults of arguments a file may leave out. They differ between the two codebases that write
    these files: stylegan2-ada-pytorch passes `synthesis_kwargs` as one argument, stylegan3 spreads them."""
    if "synthesis_kwargs" in g:  # stylegan2-ada-pytorch
        return {"conv_clamp": None, "d_conv_clamp": None, "w_avg_beta": 0.995}
    return {"conv_clamp": 256, "d_conv_clamp": 256, "w_avg_beta": 0.998}  # stylegan3 --cfg=stylegan2


def check_supported(g: dict, syn: dict, d: dict) -> None:
    _unsupported("G_ema.architecture", syn.get("architecture", "skip"), ("skip",))
    _unsupported("D.architecture", d.get("architecture", "resnet"), ("resnet",))
    _unsupported("G_ema.use_noise", syn.get("use_noise", True), (True,))
    for net, mapping, width in (("G_ema", g.get("mapping_kwargs"), g["w_dim"]), ("D", d.get("mapping_kwargs"), None)):
        for key in ("embed_features", "layer_features"):
            _unsupported(f"{net}.mapping_kwargs.{key}", dict(mapping or {}).get(key), (None, width))
        _unsupported(f"{net}.mapping_kwargs.activation", dict(mapping or {}).get("activation", "lrelu"), ("lrelu",))
    group = dict(d.get("epilogue_kwargs") or {}).get("mbstd_group_size", 4)
    if not isinstance(group, int):
        raise SnapshotError(f"D.epilogue_kwargs.mbstd_group_size: {group!r} is not supported (only a number)")


def snapshot_config(G: PersistentObject, D: PersistentObject) -> GANConfig:
    """Our GANConfig from the networks' saved constructor arguments (the reference's defaults where absent)."""
    check_stylegan2(G)
    g, d = constructor_kwargs(G, G_ARGS, "G_ema"), constructor_kwargs(D, D_ARGS, "D")
    syn, defaults = {**g, **dict(g.get("synthesis_kwargs") or {})}, reference_defaults(g)
    mapping, d_mapping = dict(g.get("mapping_kwargs") or {}), dict(d.get("mapping_kwargs") or {})
    epilogue = dict(d.get("epilogue_kwargs") or {})
    check_supported(g, syn, d)
    g_mapping = (G.state.get("_modules") or {}).get("mapping")
    saved_beta = g_mapping.state.get("w_avg_beta") if isinstance(g_mapping, PersistentObject) else None
    clamp = syn.get("conv_clamp", defaults["conv_clamp"])
    cfg = GANConfig(
        resolution=g["img_resolution"], img_channels=g["img_channels"], z_dim=g["z_dim"], w_dim=g["w_dim"],
        mapping_layers=mapping.get("num_layers", 8), mapping_lr_mul=mapping.get("lr_multiplier", 0.01),
        channel_base=syn.get("channel_base", 32768), channel_max=syn.get("channel_max", 512),
        num_classes=g["c_dim"], mbstd_group=epilogue.get("mbstd_group_size", 4),
        mbstd_channels=epilogue.get("mbstd_num_channels", 1),
        w_avg_beta=mapping.get("w_avg_beta", saved_beta if saved_beta is not None else defaults["w_avg_beta"]),
        conv_clamp=None if clamp is None else float(clamp), d_architecture=2,
        d_mapping_layers=d_mapping.get("num_layers", 8))
    d_defaults = {"channel_base": 32768, "channel_max": 512, "conv_clamp": defaults["d_conv_clamp"]}
    same_as_g = {"c_dim": cfg.num_classes, "img_resolution": cfg.resolution, "img_channels": cfg.img_channels,
                 "channel_base": cfg.channel_base, "channel_max": cfg.channel_max, "conv_clamp": cfg.conv_clamp}
    for key, mine in same_as_g.items():
        theirs = d.get(key, d_defaults.get(key))
        if theirs != mine:
            raise SnapshotError(f"D.{key}: {theirs!r} differs from the generator's {mine!r}: not supported")
    _unsupported("D.cmap_dim", d.get("cmap_dim"), (None, cfg.channels(4)))
    _unsupported("D.mapping_kwargs.lr_multiplier", d_mapping.get("lr_multiplier", 0.01), (cfg.mapping_lr_mul,))
    return check_config(cfg)


def check_config(cfg: GANConfig) -> GANConfig:
    try:
        return cfg.validate()
    except ConfigError as exc:
        raise SnapshotError(str(exc)) from None
    except TypeError as exc:  # e.g. None where the reference allows it and we do not
        raise SnapshotError(f"constructor arguments: unsupported value ({exc})") from None


__all__ = [
    "PersistentObject",
    "Snapshot",
    "SnapshotError",
    "checkpoint_payload",
    "discriminator_names",
    "generator_names",
    "load_pickle",
    "read_snapshot",
]
