"""common.devices: one convention ("auto" or None means CUDA when there is one) and clear refusals."""

import argparse

import pytest
import torch

from common.devices import DeviceError, device_flag, resolve_device


def test_auto_and_none_mean_the_same_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == resolve_device(None).type == resolve_device().type == expected


def test_names_and_devices_pass_through():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "", "meta", "gpu0"])
def test_an_unknown_device_is_refused_in_one_line(name):
    with pytest.raises(DeviceError, match=r"^device .*use auto, cpu, cuda or cuda:N$"):
        resolve_device(name)


def test_an_absent_gpu_is_refused_not_left_to_fail_mid_run(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(DeviceError, match="has 2 CUDA device"):
        resolve_device("cuda:2")


def test_the_flag_type_turns_a_bad_device_into_a_usage_error(capsys):
    parser = argparse.ArgumentParser(prog="cnn")
    parser.add_argument("--device", default="auto", type=device_flag)
    assert parser.parse_args(["--device", "cpu"]).device == "cpu"
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--device", "tpu"])
    assert exit_.value.code == 2
    assert "argument --device: device 'tpu': not a device" in capsys.readouterr().err
