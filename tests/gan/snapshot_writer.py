"""A minimal writer of StyleGAN2-ADA-style network snapshots, for tests only (no NVIDIA code).

It writes what NVIDIA's training writes, structurally: a plain pickle of
`dict(G, D, G_ema, augment_pipe, training_set_kwargs)` in which every network is a persistent
object (the reconstructor `torch_utils.persistence._reconstruct_persistent_obj` called with a
metadata dict: a module source string, the class name, and the module's `__dict__` with its
parameters, buffers, submodules and saved constructor arguments). The weights are ours, renamed
to the reference's layout (b512.conv0.weight, mapping.fc0.weight, ...); that layout is written
out here on its own, not taken from generator.gan.snapshot, so that the round trip checks it.

    write_snapshot(path, cfg=gan_cfg, G=G, G_ema=G_ema, D=D, augment_p=0.25)
"""

from __future__ import annotations

import pickle
import types
from collections import OrderedDict

import torch

PLACEHOLDER_SRC = "# stands in for a network module's source code\n"
BLUR = torch.outer(torch.tensor([1.0, 3.0, 3.0, 1.0]), torch.tensor([1.0, 3.0, 3.0, 1.0])) / 64


def _reconstruct(meta):  # pickled under the reference reconstructor's name; never called here
    raise RuntimeError("snapshot_writer: placeholder")


class EasyDict(dict):
    """Pickled under the name of NVIDIA's attribute dict, as their constructor arguments are."""


class Persistent:
    """One reference network module, as its persistent pickle carries it."""

    def __init__(self, class_name, *, params=None, buffers=None, modules=None, init_kwargs=None, attrs=None,
                 src=PLACEHOLDER_SRC, frozen=False):
        self.class_name, self.src = class_name, src
        params = dict(params or {})
        if frozen:  # the reference keeps a frozen layer's weights as buffers
            buffers = {**{k: v for k, v in params.items() if v is not None}, **(buffers or {})}
            params = {}
        self.params, self.buffers = params, dict(buffers or {})
        self.modules, self.init_kwargs, self.attrs = dict(modules or {}), dict(init_kwargs or {}), dict(attrs or {})

    def __reduce__(self):
        hooks = ("_backward_hooks", "_forward_hooks", "_forward_pre_hooks", "_state_dict_hooks",
                 "_load_state_dict_pre_hooks")
        state = {"training": False,
                 "_parameters": OrderedDict((k, None if v is None else torch.nn.Parameter(v, requires_grad=False))
                                            for k, v in self.params.items()),
                 "_buffers": OrderedDict(self.buffers), "_non_persistent_buffers_set": set(),
                 **{h: OrderedDict() for h in hooks}, "_modules": OrderedDict(self.modules),
                 "_init_args": (), "_init_kwargs": self.init_kwargs, **self.attrs}
        meta = {"type": "class", "version": 6, "module_src": self.src, "class_name": self.class_name,
                "state": state}
        return _reconstruct, (meta,)


class _Pickler(pickle._Pickler):
    """Writes the reference's global names for our two stand-ins; everything else as pickle does."""

    NAMES = {id(_reconstruct): ("torch_utils.persistence", "_reconstruct_persistent_obj"),
             id(EasyDict): ("dnnlib.util", "EasyDict")}

    def save_global(self, obj, name=None):
        target = self.NAMES.get(id(obj))
        if target is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{target[0]}\n{target[1]}\n".encode())
        self.memoize(obj)

    dispatch = {**pickle._Pickler.dispatch, types.FunctionType: save_global}  # functions go straight here


def _t(state, key):
    return state[key].detach().clone().contiguous()


def fc(state, prefix, src):
    return Persistent("FullyConnectedLayer", params={"weight": _t(state, f"{prefix}.weight"),
                                                     "bias": _t(state, f"{prefix}.bias")}, src=src)


def mapping_network(state, prefix, names, *, src, with_avg=True):
    modules = {}
    if f"{prefix}.embed.weight" in state:
        modules["embed"] = fc(state, f"{prefix}.embed", src)
    for i, ours in enumerate(names):
        modules[f"fc{i}"] = fc(state, ours, src)
    buffers = {"w_avg": _t(state, f"{prefix}.w_avg")} if with_avg else {}
    return Persistent("MappingNetwork", modules=modules, buffers=buffers, src=src)


def synthesis_layer(state, prefix, src):
    return Persistent("SynthesisLayer", src=src, modules={"affine": fc(state, f"{prefix}.conv.affine", src)},
                      params={"weight": _t(state, f"{prefix}.conv.weight"),
                              "noise_strength": _t(state, f"{prefix}.noise_strength"),
                              "bias": _t(state, f"{prefix}.bias")},
                      buffers={"resample_filter": BLUR.clone(), "noise_const": _t(state, f"{prefix}.noise_const")})


def generator(cfg, G, src=PLACEHOLDER_SRC):
    state = G.state_dict()
    blocks = {}
    for k in range(cfg.log2_res - 1):
        res, ours = 4 * 2**k, f"synthesis.blocks.{k}"
        modules = {"conv0": synthesis_layer(state, f"{ours}.conv0", src)} if res > 4 else {}
        modules["conv1"] = synthesis_layer(state, f"{ours}.conv1", src)
        modules["torgb"] = Persistent("ToRGBLayer", src=src, modules={
            "affine": fc(state, f"{ours}.torgb.conv.affine", src)},
            params={"weight": _t(state, f"{ours}.torgb.conv.weight"), "bias": _t(state, f"{ours}.torgb.bias")})
        params = {"const": _t(state, f"{ours}.const")} if res == 4 else {}
        blocks[f"b{res}"] = Persistent("SynthesisBlock", params=params, modules=modules, src=src,
                                       buffers={"resample_filter": BLUR.clone()}, attrs={"architecture": "skip"})
    mapping = mapping_network(state, "mapping", [f"mapping.layers.{i}" for i in range(cfg.mapping_layers)],
                              src=src)
    kwargs = {"z_dim": cfg.z_dim, "c_dim": cfg.num_classes, "w_dim": cfg.w_dim, "img_resolution": cfg.resolution,
              "img_channels": cfg.img_channels,
              "mapping_kwargs": EasyDict(num_layers=cfg.mapping_layers, w_avg_beta=cfg.w_avg_beta),
              "synthesis_kwargs": EasyDict(channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                                           num_fp16_res=4, conv_clamp=cfg.conv_clamp)}
    return Persistent("Generator", src=src, init_kwargs=kwargs, attrs={"z_dim": cfg.z_dim, "w_dim": cfg.w_dim},
                      modules={"synthesis": Persistent("SynthesisNetwork", modules=blocks, src=src),
                               "mapping": mapping})


def conv_layer(state, prefix, src, *, frozen=False, bias=True):
    params = {"weight": _t(state, f"{prefix}.weight"), "bias": _t(state, f"{prefix}.bias") if bias else None}
    return Persistent("Conv2dLayer", params=params, buffers={"resample_filter": BLUR.clone()}, src=src,
                      frozen=frozen)


def discriminator(cfg, D, src=PLACEHOLDER_SRC, frozen_layers=0):
    state, layer, modules = D.state_dict(), 0, {}
    for k in range(cfg.log2_res - 2):
        res, ours, block = cfg.resolution // 2**k, f"blocks.{k}", {}
        for name in (["fromrgb"] if k == 0 else []) + ["conv0", "conv1", "skip"]:
            block[name] = conv_layer(state, f"{ours}.{name}", src, frozen=layer < frozen_layers,
                                     bias=name != "skip")
            layer += 1
        modules[f"b{res}"] = Persistent("DiscriminatorBlock", modules=block, src=src,
                                        buffers={"resample_filter": BLUR.clone()}, attrs={"architecture": "resnet"})
    modules["b4"] = Persistent("DiscriminatorEpilogue", src=src, modules={
        "mbstd": Persistent("MinibatchStdLayer", src=src), "conv": conv_layer(state, "conv", src),
        "fc": fc(state, "fc", src), "out": fc(state, "out", src)})
    if cfg.num_classes:
        modules["mapping"] = mapping_network(state, "mapping", [f"mapping.layers.{i}" for i in
                                                                range(cfg.d_mapping_layers)], src=src, with_avg=False)
    kwargs = {"c_dim": cfg.num_classes, "img_resolution": cfg.resolution, "img_channels": cfg.img_channels,
              "channel_base": cfg.channel_base, "channel_max": cfg.channel_max, "num_fp16_res": 4,
              "conv_clamp": cfg.conv_clamp, "block_kwargs": EasyDict(freeze_layers=frozen_layers),
              "mapping_kwargs": EasyDict(num_layers=cfg.d_mapping_layers),
              "epilogue_kwargs": EasyDict(mbstd_group_size=cfg.mbstd_group)}
    return Persistent("Discriminator", modules=modules, init_kwargs=kwargs, src=src)


def augment_pipe(p, src=PLACEHOLDER_SRC):
    return Persistent("AugmentPipe", src=src, buffers={"p": torch.tensor(float(p))},
                      init_kwargs={"xflip": 1, "rotate90": 1, "xint": 1})


def write_snapshot(path, *, cfg, G_ema, D, G=None, augment_p=0.0, src=PLACEHOLDER_SRC, frozen_d_layers=0,
                   replace=None):
    """Write the snapshot; G=None leaves the training generator out. `replace` swaps top-level entries
    (a hand-made network, say) after they are built."""
    data = {"D": discriminator(cfg, D, src, frozen_d_layers), "G_ema": generator(cfg, G_ema, src),
            "augment_pipe": augment_pipe(augment_p, src),
            "training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "lesions.zip",
                                    "use_labels": bool(cfg.num_classes), "max_size": 1000, "xflip": True,
                                    "resolution": cfg.resolution}}
    if G is not None:
        data["G"] = generator(cfg, G, src)
    data.update(replace or {})
    with open(path, "wb") as f:
        _Pickler(f, protocol=3).dump(data)
    return path
