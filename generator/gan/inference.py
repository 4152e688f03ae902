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
Training keeps networks.py's maths (the double backward of R1 and path length needs it);
here the images agree with that path within float rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
CHANNELS_LAST = torch.channels_last


def blur_kernel(channels: int, gain: float, like: torch.Tensor) -> torch.Tensor:
    k1 = like.new_tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(k1, k1)
    return (kernel * (gain / kernel.sum())).expand(channels, 1, 4, 4)


def folded_weight(conv, w: torch.Tensor, in_gain: float) -> torch.Tensor:
    """The modulated (and demodulated) weight [Cout, Cin, k, k] of one image's style w [1, w_dim];
    in_gain is the scale the previous layer left out of its output. The scales are combined on the
    [Cout, Cin] matrix first, so the big weight is read once (at 4-64 px it is 2.4 M numbers)."""
    styles = conv.affine(w)[0] * conv.weight_gain
    scale = (styles * in_gain)[None, :]
    if conv.demodulate:
        # sum over (in, k) of (W * s)^2 = (sum over k of W^2) @ s^2
        scale = scale * (squared_kernel_sums(conv) @ styles.square() + 1e-8).rsqrt()[:, None]
    return conv.weight * scale[:, :, None, None]


def squared_kernel_sums(conv) -> torch.Tensor:
    """sum over the kernel of weight^2, [Cout, Cin]; kept until the weight changes (its version)."""
    key = (conv.weight._version, conv.weight.data_ptr(), conv.weight.device)
    cached = getattr(conv, "_inference_wsq", None)
    if cached is None or cached[0] != key:
        cached = (key, conv.weight.square().sum(dim=(2, 3)))
        conv._inference_wsq = cached
    return cached[1]


def layer(module, x: torch.Tensor, w: torch.Tensor, noise_mode: str, in_gain: float) -> torch.Tensor:
    """A SynthesisLayer; returns its output divided by sqrt(2) (the caller's next in_gain)."""
    conv = module.conv
    weight = folded_weight(conv, w, in_gain).to(x.dtype)
    if conv.up:
        x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
        x = F.conv2d(x, blur_kernel(x.shape[1], 4.0, x), module.bias.to(x.dtype), padding=1, groups=x.shape[1])
    else:
        x = F.conv2d(x, weight, module.bias.to(x.dtype), padding=conv.padding)
    res = module.resolution
    if noise_mode == "random":
        # Drawn by the CPU's generator whatever the device, so a seed's random noise is the same on
        # CUDA as on the CPU (on the CPU: the same draw, in the same order, as the training path).
        noise = torch.randn(1, 1, res, res, dtype=x.dtype).to(x.device)
        x.add_(noise * module.noise_strength.to(x.dtype))
    elif noise_mode == "const":
        x.add_((module.noise_const * module.noise_strength).to(x.dtype))
    F.leaky_relu_(x, 0.2)
    if module.clamp is not None:
        x.clamp_(-module.clamp / SQRT2, module.clamp / SQRT2)
    return x


def to_rgb(module, x: torch.Tensor, w: torch.Tensor, in_gain: float) -> torch.Tensor:
    """A ToRGB (1x1, not demodulated) as F.linear over the pixels of a channels_last map."""
    conv = module.conv
    styles = conv.affine(w)[0]
    weight = conv.weight[:, :, 0, 0] * (conv.weight_gain * in_gain * styles)[None, :]
    rgb = F.linear(x.permute(0, 2, 3, 1), weight.to(x.dtype), module.bias.to(x.dtype))  # [1, H, W, C]
    if module.clamp is not None:
        rgb.clamp_(-module.clamp, module.clamp)
    return rgb.permute(0, 3, 1, 2)


def synthesize_one(net, ws: torch.Tensor, noise_mode: str, upsample2x) -> torch.Tensor:
    """ws [1, num_ws, w_dim] -> image [1, C, res, res], as SynthesisNetwork.forward computes it."""
    img = x = None
    w_idx = 0
    for block in net.blocks:
        if block.conv0 is None:
            x = block.const.unsqueeze(0).to(ws.dtype).contiguous(memory_format=CHANNELS_LAST)
            x = layer(block.conv1, x, ws[:, w_idx], noise_mode, 1.0)
        else:
            x = layer(block.conv0, x, ws[:, w_idx], noise_mode, SQRT2)
            x = layer(block.conv1, x, ws[:, w_idx + 1], noise_mode, SQRT2)
        rgb = to_rgb(block.torgb, x, ws[:, w_idx + block.num_conv], SQRT2)
        img = rgb if img is None else upsample2x(img).add_(rgb.to(img.dtype))
        w_idx += block.num_conv
    return img.contiguous()
