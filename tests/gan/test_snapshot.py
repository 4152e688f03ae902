"""Reading StyleGAN2-ADA network snapshots: exact round trips of our own minimal writer's pickles
(tiny and the paper's 512 px architecture), and refusal of anything that would run code."""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from dataclasses import replace

import pytest
import torch

from generator.gan.config import get_config
from generator.gan.networks import Discriminator, Generator
from generator.gan.snapshot import SnapshotError, read_snapshot

from . import snapshot_writer as writer
from .helpers import make_tiny_configs


def make_networks(cfg, seed=0):
    """G, G_ema, D with distinct random weights, non-zero noise strengths and a non-zero w_avg
    (fresh networks have zeros there, which would hide a mix-up)."""
    torch.manual_seed(seed)
    nets = Generator(cfg), Generator(cfg), Discriminator(cfg)
    with torch.no_grad():
        for net in nets[:2]:
            for name, tensor in net.state_dict().items():
                if name.endswith(("noise_strength", "w_avg", "bias")):
                    tensor.copy_(torch.randn(tensor.shape) * 0.1)
    return nets


def assert_same_state(ours: torch.nn.Module, got: dict) -> None:
    expected = ours.state_dict()
    assert set(got) == set(expected)
    for name, tensor in expected.items():
        assert torch.equal(got[name], tensor), name


@pytest.mark.parametrize("num_classes", [0, 3])
def test_a_tiny_snapshot_round_trips_exactly(tmp_path, num_classes):
    cfg = make_tiny_configs(num_classes=num_classes, conv_clamp=256.0, d_mapping_layers=2)[0]
    G, G_ema, D = make_networks(cfg)
    path = writer.write_snapshot(tmp_path / "network-snapshot-000040.pkl", cfg=cfg, G=G, G_ema=G_ema, D=D,
                                 augment_p=0.25, frozen_d_layers=4)
    snap = read_snapshot(path)
    assert snap.gan_cfg == cfg
    assert snap.augment_p == pytest.approx(0.25)
    assert snap.training_set["xflip"] is True
    for name, net in (("G", G), ("G_ema", G_ema), ("D", D)):
        assert_same_state(net, getattr(snap, name))
    G2 = Generator(snap.gan_cfg)
    G2.load_state_dict(snap.G_ema)
    z = torch.randn(2, cfg.z_dim)
    c = torch.tensor([0, 2]) if num_classes else None
    assert torch.equal(G2(z, c, noise_mode="const", psi=0.7), G_ema(z, c, noise_mode="const", psi=0.7))


@pytest.mark.slow
def test_the_paper_512px_architecture_round_trips_exactly(tmp_path):
    cfg, _ = get_config("paper")
    assert cfg.mapping_layers == 2 and cfg.conv_clamp == 256
    torch.manual_seed(0)
    G_ema, D = Generator(cfg).eval(), Discriminator(cfg)
    path = writer.write_snapshot(tmp_path / "c10000.pkl", cfg=cfg, G_ema=G_ema, D=D, augment_p=0.1,
                                 frozen_d_layers=13)
    snap = read_snapshot(path)
    assert snap.gan_cfg == cfg
    assert_same_state(G_ema, snap.G_ema)
    assert_same_state(G_ema, snap.G)  # no training G in the file: it starts as G_ema
    assert_same_state(D, snap.D)
    G2, D2 = Generator(snap.gan_cfg), Discriminator(snap.gan_cfg)
    G2.load_state_dict(snap.G_ema)  # strict: every key and shape
    D2.load_state_dict(snap.D)
    with torch.no_grad():  # a few outputs (a whole 512 px forward pass takes ~10 s on one CPU thread)
        z = torch.randn(2, cfg.z_dim)
        ws = G_ema.broadcast(G_ema.mapping(z, psi=0.7))
        assert torch.equal(G2.broadcast(G2.mapping(z, psi=0.7)), ws)
        x, img = G_ema.synthesis.blocks[0](None, None, ws[:, :2], "const")
        assert torch.equal(G2.synthesis.blocks[0](None, None, ws[:, :2], "const")[1], img)
        features = torch.randn(2, cfg.channels(8), 8, 8)
        assert torch.equal(D2.blocks[-1](features, None), D.blocks[-1](features, None))


# ---- refusals ----------------------------------------------------------------------------------

class Reduce:
    """Pickles as a call of `func(*args)`, the way a malicious pickle runs code."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def write_pickle(path, obj):
    path.write_bytes(pickle.dumps(obj, protocol=3))
    return path


def test_a_reduce_to_os_system_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = write_pickle(tmp_path / "evil.pkl", {"G_ema": Reduce(os.system, f"touch {marker}")})
    with pytest.raises(SnapshotError, match=r"refused global (posix|nt|os)\.system"):
        read_snapshot(path)
    assert not marker.exists()


def test_builtins_exec_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = write_pickle(tmp_path / "evil.pkl", {"D": Reduce(exec, f"open({str(marker)!r}, 'w').write('x')")})
    with pytest.raises(SnapshotError, match=r"refused global builtins\.exec"):
        read_snapshot(path)
    assert not marker.exists()


def test_a_persistent_object_whose_source_would_write_a_file_is_read_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    cfg = make_tiny_configs()[0]
    G, G_ema, D = make_networks(cfg)
    src = f"open({str(marker)!r}, 'w').write('ran')\n"
    path = writer.write_snapshot(tmp_path / "net.pkl", cfg=cfg, G_ema=G_ema, D=D, src=src)
    snap = read_snapshot(path)
    assert not marker.exists()
    assert_same_state(G_ema, snap.G_ema)


def test_a_tensor_that_would_read_past_its_storage_is_refused(tmp_path):
    storage = torch.ones(2).storage()
    evil = Reduce(torch._utils._rebuild_tensor_v2, storage, 0, (1000,), (1,), False, OrderedDict())
    with pytest.raises(SnapshotError, match="runs past its storage"):
        read_snapshot(write_pickle(tmp_path / "evil.pkl", {"G_ema": evil}))


# ---- unsupported or broken files ---------------------------------------------------------------

def test_a_stylegan3_generator_is_refused_naming_its_input_layer(tmp_path):
    cfg = make_tiny_configs()[0]
    G, G_ema, D = make_networks(cfg)
    g3 = writer.generator(cfg, G_ema)
    g3.modules["synthesis"].modules["input"] = writer.Persistent("SynthesisInput")
    path = writer.write_snapshot(tmp_path / "sg3.pkl", cfg=cfg, G_ema=G_ema, D=D, replace={"G_ema": g3})
    with pytest.raises(SnapshotError, match=r"G_ema\.synthesis\.input: a StyleGAN3"):
        read_snapshot(path)


def test_a_shape_mismatch_names_the_parameter(tmp_path):
    cfg = make_tiny_configs()[0]
    G, G_ema, D = make_networks(cfg)
    g = writer.generator(cfg, G_ema)
    g.init_kwargs["synthesis_kwargs"]["channel_max"] = 16  # the weights have 32 channels
    d = writer.discriminator(cfg, D)
    d.init_kwargs["channel_max"] = 16
    path = writer.write_snapshot(tmp_path / "bad.pkl", cfg=cfg, G_ema=G_ema, D=D, replace={"G_ema": g, "D": d})
    with pytest.raises(SnapshotError, match=r"G_ema\.synthesis\.b4\.const: shape \[32, 4, 4\] does not match"):
        read_snapshot(path)


def test_a_different_architecture_is_refused_naming_the_argument(tmp_path):
    cfg = make_tiny_configs()[0]
    G, G_ema, D = make_networks(cfg)
    d = writer.discriminator(cfg, D)
    d.init_kwargs["architecture"] = "skip"
    path = writer.write_snapshot(tmp_path / "bad.pkl", cfg=cfg, G_ema=G_ema, D=D, replace={"D": d})
    with pytest.raises(SnapshotError, match=r"D\.architecture: 'skip' is not supported"):
        read_snapshot(path)


@pytest.mark.parametrize("content, message", [
    (b"not a pickle at all", "not a readable pickle"),
    (pickle.dumps([1, 2, 3]), "not a network snapshot"),
    (pickle.dumps({"G_ema": 1}), "G_ema: missing, or not a network"),
])
def test_files_that_are_not_snapshots_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "x.pkl"
    path.write_bytes(content)
    with pytest.raises(SnapshotError, match=message):
        read_snapshot(path)


def test_a_stylegan3_written_file_without_a_clamp_argument_gets_stylegan3s_default_clamp(tmp_path):
    # stylegan3 spreads the synthesis arguments over the generator's own and defaults the clamp to 256;
    # stylegan2-ada-pytorch nests them in synthesis_kwargs and defaults it to None.
    cfg = make_tiny_configs(conv_clamp=256.0)[0]
    G, G_ema, D = make_networks(cfg)
    g, d = writer.generator(cfg, G_ema), writer.discriminator(cfg, D)
    synthesis = g.init_kwargs.pop("synthesis_kwargs")
    g.init_kwargs.update({k: v for k, v in synthesis.items() if k != "conv_clamp"})
    del d.init_kwargs["conv_clamp"]
    path = writer.write_snapshot(tmp_path / "sg3.pkl", cfg=cfg, G_ema=G_ema, D=D, replace={"G_ema": g, "D": d})
    assert read_snapshot(path).gan_cfg == replace(cfg, w_avg_beta=0.998)  # stylegan3's default too
