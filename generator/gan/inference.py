"""The synthesis network at batch one without gradients: the function `networks.py` computes,
rearranged for speed on the CPU. `SynthesisNetwork.forward` takes this path by itself when it
is given one image under `torch.no_grad()` (the canonical render in `sample.py` always is).

What changes, and why (measured with torch.profiler on a 512 px render, see bench/gan_bench.py):
- Modulation and demodulation are folded into the convolution weight (9 * Cin * Cout numbers),
  instead of scaling the activations before and after the convolution (Cin * H * W and
  Cout * H * W numbers: at 512 px each is a full pass over 64 MiB).
- Activations are channels_last, oneDNN's native layout: the depthwise 4x4 blur after each
  upsampling convolution runs about 3x faster and the 3x3 convolutions 1.2-2x faster.
- The bias goes inside the convolution (or the blur), the noise is added in place, the leaky
  ReLU and the clamp run in place; the leaky ReLU's sqrt(2) gain is moved into the next
  layer's weight (and the clamp limit divided by it), which is the same function.
- toRGB is a linear layer over channels_last pixels: cheap, and unlike oneDNN's 1x1 kernel for
  3 outputs its result does not depend on the thread count.
- What depends only on the weights is made once and kept until a weight changes (`prepared`):
  the weights in the channels_last layout oneDNN reads (so no 9 MiB copy per layer and image),
  the affine layers' scaled weights, demodulation's sums of squares, the constant noise and the
  blur kernels. Same operations on the same numbers: the images are bit for bit what they were.
- On the CPU, freed memory is kept for the next render (`keep_freed_memory`): before, every
  512 px image cost ~95,000 page faults, 10-15 % of its CPU time spent in the kernel.
Training keeps networks.py's maths (the double backward of R1 and path length needs it);
here the images agree with that path within float rounding.
"""

from __future__ import annotations

import ctypes
import math
import os
import platform
import weakref

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
CHANNELS_LAST = torch.channels_last

# module -> (the tensors it was made from, their versions and addresses, what was made). Weakly
# keyed, so a dropped network takes its entries with it; kept off the module, so state_dict and
# copies never see it. Holding the source tensors keeps their memory from being reused by a new
# tensor with the same address and version.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_blur_kernels: dict[tuple, torch.Tensor] = {}


def prepared(module, tensors: tuple[torch.Tensor | None, ...], make):
    """make() for `module`, made again only when one of `tensors` changed: written in place (its
    version), given new memory (`.data = ...`) or replaced by another tensor."""
    stamp = tuple(None if t is None else (t._version, t.data_ptr()) for t in tensors)
    entry = _prepared.get(module)
    if entry is None or entry[1] != stamp or any(a is not b for a, b in zip(entry[0], tensors)):
        entry = (tensors, stamp, make())
        _prepared[module] = entry
    return entry[2]


# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
MALLOC_ENVIRONMENT = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")
_malloc_kept = False


def keep_freed_memory() -> bool:
    """Once per process, on glibc: keep freed memory for the next allocation instead of handing it
    back to the kernel. Returns whether the setting is in force.

    Why: glibc serves every block over 32 MiB (a 512 px activation is 64 MiB) with its own mmap and
    unmaps it on free, so each render asked the kernel for ~370 MiB of fresh zeroed pages again:
    ~95,000 page faults and 0.15-0.23 s of system time per 512 px image (10-15 % of its CPU time).
    With mmap and trimming off, a warm render reuses the same memory (1 fault per image, measured).
    The cost: the process keeps its peak heap until it exits (the paper config at 512 px: 1.17 GiB
    resident, against 0.71 GiB between images and a 0.88 GiB peak before), which suits the commands
    and job processes that render (an rq work-horse exits after its job). A trimming threshold
    (2 GiB was tried) gives it back only to fault it in again: the benchmark's batch-4 baseline
    freed more than that, and the next batch-one render faulted 32,800 pages.
    MALLOC_* or GLIBC_TUNABLES in the environment mean a person chose: left alone.
    """
    global _malloc_kept
    if _malloc_kept:
        return True
    if platform.libc_ver()[0] != "glibc" or any(name in os.environ for name in MALLOC_ENVIRONMENT):
        return False
    mallopt = ctypes.CDLL(None).mallopt
    _malloc_kept = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, -1))  # -1: never trim
    return _malloc_kept


def blur_kernel(channels: int, gain: float, like: torch.Tensor) -> torch.Tensor:
    k1 = like.new_tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(k1, k1)
    return (kernel * (gain / kernel.sum())).expand(channels, 1, 4, 4)


def styles_of(affine, w: torch.Tensor) -> torch.Tensor:
    """EqualLinear(w) with its scaled weight and bias kept between calls (the same numbers)."""
    def make():
        bias = affine.bias * affine.lr_mul if affine.bias is not None else None
        return affine.weight * affine.weight_gain, bias
    weight, bias = prepared(affine, (affine.weight, affine.bias), make)
    return F.linear(w, weight, bias)


def conv_constants(conv) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight in the channels_last layout oneDNN reads (for an upsampling layer transposed to
    [Cin, Cout, k, k] first), so the folded weight goes in without a copy (that copy was 49 of
    1338 ms at 512 px), and the sum over the kernel of weight^2 [Cout, Cin] for demodulation."""
    def make():
        weight = conv.weight.transpose(0, 1) if conv.up else conv.weight
        return weight.contiguous(memory_format=CHANNELS_LAST), conv.weight.square().sum(dim=(2, 3))
    return prepared(conv, (conv.weight,), make)


def folded_weight(conv, w: torch.Tensor, in_gain: float) -> torch.Tensor:
    """The modulated (and demodulated) weight of one image's style w [1, w_dim], [Cout, Cin, k, k]
    ([Cin, Cout, k, k] for an upsampling layer, as conv_transpose2d takes it); in_gain is the
    scale the previous layer left out of its output. The scales are combined on the [Cout, Cin]
    matrix first, so the big weight is read once (at 4-64 px it is 2.4 M numbers)."""
    weight, wsq = conv_constants(conv)
    styles = styles_of(conv.affine, w)[0] * conv.weight_gain
    scale = (styles * in_gain)[None, :]
    if conv.demodulate:
        # sum over (in, k) of (W * s)^2 = (sum over k of W^2) @ s^2
        scale = scale * (wsq @ styles.square() + 1e-8).rsqrt()[:, None]
    return weight * (scale.t() if conv.up else scale)[:, :, None, None]


def blur_weight(channels: int, like: torch.Tensor) -> torch.Tensor:
    """The depthwise 4x4 blur (gain 4) as a channels_last weight, kept per channel count and device."""
    key = (channels, like.device, like.dtype)
    kernel = _blur_kernels.get(key)
    if kernel is None:
        kernel = blur_kernel(channels, 4.0, like).contiguous(memory_format=CHANNELS_LAST)
        _blur_kernels[key] = kernel
    return kernel


def noise_image(module, noise_mode: str, like: torch.Tensor) -> torch.Tensor | None:
    """The [1, 1, res, res] noise the layer adds (already scaled by its strength), or None."""
    res = module.resolution
    if noise_mode == "random":
        # Drawn by the CPU's generator whatever the device, so a seed's random noise is the same on
        # CUDA as on the CPU (on the CPU: the same draw, in the same order, as the training path).
        noise = torch.randn(1, 1, res, res, dtype=like.dtype).to(like.device)
        return noise * module.noise_strength.to(like.dtype)
    if noise_mode == "const":
        noise = prepared(module, (module.noise_const, module.noise_strength),
                         lambda: module.noise_const * module.noise_strength)
        return noise.to(like.dtype)
    return None


def layer(module, x: torch.Tensor, w: torch.Tensor, noise_mode: str, in_gain: float) -> torch.Tensor:
    """A SynthesisLayer; returns its output divided by sqrt(2) (the caller's next in_gain)."""
    conv = module.conv
    weight = folded_weight(conv, w, in_gain).to(x.dtype)
    bias = module.bias.to(x.dtype)
    if conv.up:
        x = F.conv_transpose2d(x, weight, stride=2)
        x = F.conv2d(x, blur_weight(x.shape[1], x), bias, padding=1, groups=x.shape[1])
    else:
        x = F.conv2d(x, weight, bias, padding=conv.padding)
    noise = noise_image(module, noise_mode, x)
    if noise is not None:
        x.add_(noise)
    F.leaky_relu_(x, 0.2)
    if module.clamp is not None:
        x.clamp_(-module.clamp / SQRT2, module.clamp / SQRT2)
    return x


def to_rgb(module, x: torch.Tensor, w: torch.Tensor, in_gain: float) -> torch.Tensor:
    """A ToRGB (1x1, not demodulated) as F.linear over the pixels of a channels_last map."""
    conv = module.conv
    styles = styles_of(conv.affine, w)[0]
    weight = conv.weight[:, :, 0, 0] * (conv.weight_gain * in_gain * styles)[None, :]
    rgb = F.linear(x.permute(0, 2, 3, 1), weight.to(x.dtype), module.bias.to(x.dtype))  # [1, H, W, C]
    if module.clamp is not None:
        rgb.clamp_(-module.clamp, module.clamp)
    return rgb.permute(0, 3, 1, 2)


def synthesize_one(net, ws: torch.Tensor, noise_mode: str, upsample2x) -> torch.Tensor:
    """ws [1, num_ws, w_dim] -> image [1, C, res, res], as SynthesisNetwork.forward computes it."""
    if ws.device.type == "cpu":
        keep_freed_memory()
    img: torch.Tensor | None = None
    x: torch.Tensor | None = None
    w_idx = 0
    for block in net.blocks:
        if block.conv0 is None:
            x = block.const.unsqueeze(0).to(ws.dtype).contiguous(memory_format=CHANNELS_LAST)
            x = layer(block.conv1, x, ws[:, w_idx], noise_mode, 1.0)
        else:
            assert x is not None  # the 4x4 block comes first and starts from its constant
            x = layer(block.conv0, x, ws[:, w_idx], noise_mode, SQRT2)
            x = layer(block.conv1, x, ws[:, w_idx + 1], noise_mode, SQRT2)
        rgb = to_rgb(block.torgb, x, ws[:, w_idx + block.num_conv], SQRT2)
        img = rgb if img is None else upsample2x(img).add_(rgb.to(img.dtype))
        w_idx += block.num_conv
    assert img is not None, "a synthesis network has at least the 4x4 block"
    return img.contiguous()
