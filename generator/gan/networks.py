"""StyleGAN2 generator and residual discriminator, written from the paper.

Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN":
a mapping network z -> w, a synthesis network of modulated/demodulated 3x3
convolutions starting from a learned constant, per-layer noise, and the
"skip" output architecture (one toRGB per resolution, summed after
upsampling); a residual discriminator ending in a minibatch standard
deviation layer. Every weight uses the equalized learning rate: it is stored
as N(0, 1) and scaled by 1/sqrt(fan_in) at run time, so Adam sees every layer
at the same scale. With the same weights, both networks compute what the
StyleGAN2-ADA reference computes (the discriminator from d_architecture 2 on),
including its optional clamp of convolution outputs (cfg.conv_clamp).

Only stock PyTorch ops are used (no custom CUDA kernels), so the same code
runs on CPU, CUDA and the meta device, and supports the double backward that
R1 and path length regularisation need.

    G = Generator(cfg); img = G(z, c)            # z: [N, z_dim], c: [N] class ids or None
    D = Discriminator(cfg); logits = D(img, c)   # [N, 1]
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from . import inference
from .config import GANConfig
from .distributed import draw_rows

SQRT2 = math.sqrt(2.0)
NOISE_MODES = ("const", "random", "none")


def lrelu(x: torch.Tensor) -> torch.Tensor:
    # The sqrt(2) gain keeps the second moment of activations near 1 (He init).
    return F.leaky_relu(x, 0.2) * SQRT2


def blur(x: torch.Tensor, pad: int, gain: float = 1.0, stride: int = 1) -> torch.Tensor:
    """Depthwise [1, 3, 3, 1] low-pass filter: anti-aliases up- and downsampling."""
    channels = x.shape[1]
    k1 = x.new_tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(k1, k1)
    kernel = (kernel * (gain / kernel.sum())).expand(channels, 1, 4, 4)
    return F.conv2d(x, kernel, stride=stride, padding=pad, groups=channels)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Zero-insertion upsampling followed by the blur, as one transposed depthwise conv."""
    channels = x.shape[1]
    k1 = x.new_tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(k1, k1)
    kernel = (kernel * (4.0 / kernel.sum())).expand(channels, 1, 4, 4)
    return F.conv_transpose2d(x, kernel, stride=2, padding=1, groups=channels)


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    return blur(x, pad=1, stride=2)


def clamp(x: torch.Tensor, limit: float | None) -> torch.Tensor:
    return x if limit is None else x.clamp(-limit, limit)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate and an optional learning-rate multiplier."""

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init) / lr_mul)) if bias else None
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        x = F.linear(x, self.weight * self.weight_gain, bias)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    """Plain convolution with equalized learning rate, an optional activation clamp, and two ways
    to halve the resolution:

    down="stride" (the reference): blur the full-resolution map, then convolve it with stride 2.
    down="half" (our v1 discriminator): blur and halve first, then convolve at half resolution.
    For a 1x1 kernel the two are the same function.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, bias: bool = True,
                 activate: bool = False, down: str | None = None, clamp: float | None = None):
        super().__init__()
        if down not in (None, "stride", "half"):
            raise ValueError(f"down: must be None, 'stride' or 'half', got {down!r}")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.activate, self.down, self.padding, self.clamp = activate, down, kernel // 2, clamp

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        weight = self.weight * self.weight_gain
        if self.down == "stride" and self.padding > 0:
            # One more pixel of padding per side than "same": the 4-tap blur then grows the map
            # by one, and the stride-2 conv lands exactly on half the resolution.
            x = F.conv2d(blur(x, pad=self.padding + 1), weight, self.bias, stride=2)
        else:
            if self.down is not None:
                x = downsample2x(x)
            x = F.conv2d(x, weight, self.bias, padding=self.padding)
        x = lrelu(x) if self.activate else x
        x = x * gain if gain != 1.0 else x
        # As in the reference, the limit scales with the gain: a residual branch (gain sqrt(1/2)) is
        # clamped at conv_clamp * sqrt(1/2).
        return x if self.clamp is None else x.clamp(-self.clamp * gain, self.clamp * gain)


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled by a per-sample style (modulation) and
    whose output channels are rescaled to unit expected std (demodulation).

    Instead of building one weight per sample (a grouped convolution), we scale the
    activations before and after a shared convolution; the maths is the same and the
    shared convolution is faster on both CPU and GPU.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel: int, *,
                 demodulate: bool = True, up: bool = False):
        super().__init__()
        # Styles start at 1 so a fresh layer behaves like a plain convolution.
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.demodulate, self.up, self.padding = demodulate, up, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)
        weight = self.weight * self.weight_gain
        x = x * styles[:, :, None, None].to(x.dtype)
        if self.up:
            # Transposed stride-2 conv gives 2H+1 pixels; the blur (gain 4 for the inserted
            # zeros) trims them back to 2H and removes the checkerboard.
            x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
            x = blur(x, pad=1, gain=4.0)
        else:
            x = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            wsq = weight.float().square().sum(dim=(2, 3))  # [out, in]
            dcoefs = (styles.float().square() @ wsq.t() + 1e-8).rsqrt()  # [N, out]
            x = x * dcoefs[:, :, None, None].to(x.dtype)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv + per-pixel noise with a learned strength + bias + leaky ReLU."""

    noise_const: torch.Tensor  # a buffer (register_buffer), declared for the type checker

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, *, up: bool = False,
                 clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, w_dim, 3, up=up)
        # Strength starts at 0: noise is something the generator learns to use.
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        # A fixed noise image makes noise_mode="const" reproducible and lives in the checkpoint.
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.resolution, self.clamp = resolution, clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        x = self.conv(x, w)
        if noise_mode == "random":
            # Drawn through draw_rows: with several processes, this one's rows of a global-batch draw.
            noise = draw_rows(lambda n: torch.randn(n, 1, self.resolution, self.resolution, device=x.device,
                                                    dtype=x.dtype), x.shape[0])
            x = x + noise * self.noise_strength.to(x.dtype)
        elif noise_mode == "const":
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        return clamp(lrelu(x + self.bias.to(x.dtype)[None, :, None, None]), self.clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 conv to image channels, not demodulated (colour scale must be learnable)."""

    def __init__(self, in_channels: int, img_channels: int, w_dim: int, clamp: float | None = None):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, img_channels, w_dim, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.clamp = clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return clamp(self.conv(x, w) + self.bias.to(x.dtype)[None, :, None, None], self.clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (upsampling conv0), conv1, toRGB; the 4x4 block starts from a constant."""

    def __init__(self, in_channels: int, out_channels: int, cfg: GANConfig, resolution: int):
        super().__init__()
        self.resolution = resolution
        if resolution == 4:
            self.const = nn.Parameter(torch.randn(out_channels, 4, 4))
            self.conv0 = None
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, cfg.w_dim, resolution, up=True,
                                        clamp=cfg.conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, cfg.w_dim, resolution, clamp=cfg.conv_clamp)
        self.torgb = ToRGB(out_channels, cfg.img_channels, cfg.w_dim, clamp=cfg.conv_clamp)
        self.num_conv = 1 if self.conv0 is None else 2

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str):
        """ws: [N, num_conv + 1, w_dim]; the toRGB style is shared with the next block's conv0."""
        if self.conv0 is None:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
            x = self.conv1(x, ws[:, 0], noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        rgb = self.torgb(x, ws[:, self.num_conv])
        img = rgb if img is None else upsample2x(img) + rgb.to(img.dtype)
        return x, img


class MappingNetwork(nn.Module):
    """z (and an optional class) -> w through an MLP; keeps a running mean of w for truncation."""

    w_avg: torch.Tensor  # a buffer (register_buffer), declared for the type checker

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = EqualLinear(cfg.num_classes, cfg.w_dim) if cfg.num_classes else None
        in_features = cfg.z_dim + (cfg.w_dim if self.embed is not None else 0)
        self.layers = nn.ModuleList(
            EqualLinear(in_features if i == 0 else cfg.w_dim, cfg.w_dim, lr_mul=cfg.mapping_lr_mul, activate=True)
            for i in range(cfg.mapping_layers))
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, *, psi: float = 1.0,
                update_w_avg: bool = False) -> torch.Tensor:
        x = normalize_2nd_moment(z.float())
        if self.embed is not None:
            if c is None:
                raise ValueError("c: this generator is class-conditional; pass class indices")
            onehot = F.one_hot(c.long(), self.cfg.num_classes).to(x.dtype)
            x = torch.cat([x, normalize_2nd_moment(self.embed(onehot))], dim=1)
        for layer in self.layers:
            x = layer(x)
        if update_w_avg:
            with torch.no_grad():
                batch_mean = x.detach().float().mean(dim=0)
                self.w_avg.copy_(batch_mean.lerp(self.w_avg, self.cfg.w_avg_beta))
        if psi != 1.0:
            x = self.w_avg.to(x.dtype).lerp(x, psi)
        return x


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, res, res], roughly in [-1, 1]."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        resolutions = [2**i for i in range(2, cfg.log2_res + 1)]
        self.blocks = nn.ModuleList(
            SynthesisBlock(cfg.channels(res // 2) if res > 4 else 0, cfg.channels(res), cfg, res)
            for res in resolutions)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", *, fast: bool | None = None) -> torch.Tensor:
        """fast (default: one image without autograd) takes inference.py's batch-one path; False
        keeps the training maths (the benchmark's baseline)."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode: must be one of {NOISE_MODES}, got {noise_mode!r}")
        if fast is None:
            fast = ws.shape[0] == 1 and not torch.is_grad_enabled()
        if fast:
            return inference.synthesize_one(self, ws, noise_mode, upsample2x)
        x = img = None
        w_idx = 0
        for block in cast("list[SynthesisBlock]", self.blocks):
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + 1), noise_mode)
            w_idx += block.num_conv
        assert img is not None  # every config has at least the 4 px block
        return img

    def noise_buffers(self) -> list[torch.Tensor]:
        return [m.noise_const for m in self.modules() if isinstance(m, SynthesisLayer)]


class Generator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.mapping = MappingNetwork(cfg)
        self.synthesis = SynthesisNetwork(cfg)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, *, psi: float = 1.0,
                noise_mode: str = "random", update_w_avg: bool = False) -> torch.Tensor:
        w = self.mapping(z, c, psi=psi, update_w_avg=update_w_avg)
        return self.synthesis(self.broadcast(w), noise_mode)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """[N, w_dim] -> [N, num_ws, w_dim]: the same w drives every layer."""
        return w.unsqueeze(1).expand(-1, self.cfg.num_ws, -1)


def minibatch_std(x: torch.Tensor, group_size: int, num_channels: int) -> torch.Tensor:
    """Append the std of features across a group of samples, so D can see a lack of variety."""
    n, c, h, w = x.shape
    group = next(g for g in range(min(group_size, n), 0, -1) if n % g == 0)
    y = x.float().reshape(group, -1, num_channels, c // num_channels, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)  # variance over the group
    y = (y + 1e-8).sqrt().mean(dim=(2, 3, 4))  # [n / group, num_channels]
    y = y.reshape(-1, num_channels, 1, 1).repeat(group, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


class DiscriminatorBlock(nn.Module):
    """Residual block: (fromRGB), conv0, downsampling conv1, plus a downsampling 1x1 skip."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, cfg: GANConfig):
        super().__init__()
        down = "stride" if cfg.d_architecture >= 2 else "half"
        kw: dict[str, Any] = {"clamp": cfg.conv_clamp}
        self.fromrgb = (EqualConv2d(cfg.img_channels, tmp_channels, 1, activate=True, **kw)
                        if in_channels == 0 else None)
        self.conv0 = EqualConv2d(tmp_channels, tmp_channels, 3, activate=True, **kw)
        self.conv1 = EqualConv2d(tmp_channels, out_channels, 3, activate=True, down=down, **kw)
        self.skip = EqualConv2d(tmp_channels, out_channels, 1, bias=False, down=down)  # never clamped, as the reference

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.fromrgb is not None:
            x = self.fromrgb(img)
        # sqrt(1/2) keeps the variance of the sum of two branches unchanged.
        gain = math.sqrt(0.5)
        return self.skip(x, gain=gain) + self.conv1(self.conv0(x), gain=gain)

    def layers(self) -> list[nn.Module]:
        return [m for m in (self.fromrgb, self.conv0, self.conv1, self.skip) if m is not None]


class ClassMapping(nn.Module):
    """Class -> projection vector, as the reference discriminator maps it: a one-hot embedding,
    normalised to unit second moment, through an MLP slowed by the mapping learning-rate multiplier."""

    def __init__(self, num_classes: int, dim: int, num_layers: int, lr_mul: float):
        super().__init__()
        self.num_classes = num_classes
        self.embed = EqualLinear(num_classes, dim)
        self.layers = nn.ModuleList(EqualLinear(dim, dim, lr_mul=lr_mul, activate=True) for _ in range(num_layers))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        x = normalize_2nd_moment(self.embed(F.one_hot(c.long(), self.num_classes).float()))
        for layer in self.layers:
            x = layer(x)
        return x


class Discriminator(nn.Module):
    """Residual discriminator; with classes, a projection head: logit = <features, cmap(c)> / sqrt(dim).

    cfg.d_architecture 2 computes what the reference StyleGAN2 discriminator computes (stride-2
    downsampling convolutions, the class through `ClassMapping`); 1 is ours before that, kept so
    that older checkpoints load and resume (halve-then-convolve, the class through one linear layer).

    "Layer", for freezing, means one parameterised layer of the blocks, counted from the image
    input in the order the data flows: per block fromRGB (first block only), conv0, conv1, skip.
    At 512 px there are 22, and freezing 13 freezes the 512, 256, 128 and 64 px blocks. This is
    StyleGAN2-ADA's `--freezed` counting, so numbers from papers carry over; like the reference,
    the epilogue (conv, fc, out) and the class mapping always train.
    """

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg.validate()
        resolutions = [2**i for i in range(cfg.log2_res, 2, -1)]
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(0 if res == cfg.resolution else cfg.channels(res), cfg.channels(res),
                               cfg.channels(res // 2), cfg)
            for res in resolutions)
        c4 = cfg.channels(4)
        self.conv = EqualConv2d(c4 + cfg.mbstd_channels, c4, 3, activate=True, clamp=cfg.conv_clamp)
        self.fc = EqualLinear(c4 * 16, c4, activate=True)
        cmap_dim = c4 if cfg.num_classes else 1
        self.out = EqualLinear(c4, cmap_dim)
        self.embed: EqualLinear | None = None
        self.mapping: ClassMapping | None = None
        if cfg.num_classes and cfg.d_architecture >= 2:
            self.mapping = ClassMapping(cfg.num_classes, cmap_dim, cfg.d_mapping_layers, cfg.mapping_lr_mul)
        elif cfg.num_classes:
            self.embed = EqualLinear(cfg.num_classes, cmap_dim)
        self.frozen_layers = 0

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x: torch.Tensor | None = None  # the first block starts from the image (it holds fromRGB)
        for block in self.blocks:
            x = block(x, img)
        assert x is not None  # every config has at least one block
        if self.cfg.mbstd_channels:
            x = minibatch_std(x, self.cfg.mbstd_group, self.cfg.mbstd_channels)
        x = self.fc(self.conv(x).flatten(1))
        x = self.out(x)
        if not self.cfg.num_classes:
            return x
        if c is None:
            raise ValueError("c: this discriminator is class-conditional; pass class indices")
        if self.mapping is not None:
            cmap = self.mapping(c).to(x.dtype)
        else:
            assert self.embed is not None  # classes without a mapping: the older one-layer embedding
            cmap = self.embed(F.one_hot(c.long(), self.cfg.num_classes).to(x.dtype))
        return (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(cmap.shape[1])

    def block_layers(self) -> list[nn.Module]:
        """The layers `freeze` counts (see the class docstring)."""
        return [layer for block in cast("list[DiscriminatorBlock]", self.blocks) for layer in block.layers()]

    def layers(self) -> list[nn.Module]:
        """Every parameterised layer from the input on: the block layers, the epilogue, the class head."""
        found = self.block_layers() + [self.conv, self.fc, self.out]
        return found + [m for m in (self.embed, self.mapping) if m is not None]

    def freeze(self, num_layers: int) -> None:
        """Stop training the first `num_layers` block layers (0 unfreezes everything)."""
        count = len(self.block_layers())
        if not 0 <= num_layers <= count:
            raise ValueError(f"freeze_d: must be in [0, {count}] (the discriminator's block layers), "
                             f"got {num_layers}")
        for i, layer in enumerate(self.layers()):
            layer.requires_grad_(i >= num_layers)
        self.frozen_layers = num_layers


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
