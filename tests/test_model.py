"""The networks and their checkpoint format: shapes, sizes, every architecture, round trips, refusals."""

from __future__ import annotations

import pytest
import torch

from ecgseg.classify.config import ARCHS, ModelConfig, TrainConfig
from ecgseg.classify.model import NETWORKS, KachueeNet, build_model, load_checkpoint, save_checkpoint
from ecgseg.classify.train import train

from .synthetic import rr_task


PARAMS = {"kachuee": (50_000, 60_000), "lstm-fcn": (60_000, 90_000), "cnn-bilstm": (200_000, 300_000),
          "cnn-mlp": (55_000, 85_000)}


def test_network_shapes_and_parameter_count():
    net = KachueeNet(ModelConfig())
    assert net(torch.zeros(7, 187)).shape == (7, 5)
    n_parameters = sum(p.numel() for p in net.parameters())
    assert 50_000 < n_parameters < 56_000  # SPEC: about 53k
    # five blocks of pooling (5, stride 2): 187 -> 92 -> 44 -> 20 -> 8 -> 2 samples of 32 channels
    assert net.fc1.in_features == 32 * 2


def test_extra_inputs_join_the_dense_layers():
    net = KachueeNet(ModelConfig(n_extra=3))
    assert net(torch.zeros(4, 187), torch.zeros(4, 3)).shape == (4, 5)


def test_too_short_input_length_is_refused():
    with pytest.raises(ValueError, match="too short"):
        KachueeNet(ModelConfig(input_length=40))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_arch_builds_with_shape_and_size(arch):
    for n_extra in (0, 6):
        net = build_model(ModelConfig(arch=arch, n_extra=n_extra)).eval()
        rr = torch.ones(4, 6) if n_extra else None
        assert net(torch.zeros(4, 187), rr).shape == (4, 5)
        low, high = PARAMS[arch]
        assert low <= sum(p.numel() for p in net.parameters()) <= high
    with pytest.raises(ValueError, match="R-R context"):
        build_model(ModelConfig(arch=arch, n_extra=6))(torch.zeros(2, 187))


def test_the_networks_are_the_architectures_the_config_offers():
    assert tuple(NETWORKS) == ARCHS


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'.*kachuee"):
        build_model(ModelConfig(arch="resnet"))


def test_checkpoint_round_trip(tmp_path):
    net = KachueeNet(ModelConfig()).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net, metadata={"protocol": "inter"}, logit_bias=[0, 1, 2, 3, 4])
    loaded, checkpoint = load_checkpoint(path)
    x = torch.randn(3, 187)
    assert torch.equal(loaded(x), net(x))
    assert checkpoint["logit_bias"].tolist() == [0, 1, 2, 3, 4]
    assert checkpoint["metadata"]["protocol"] == "inter" and checkpoint["input_length"] == 187


def test_checkpoint_round_trip_rebuilds_arch_inputs_and_context_scaling(tmp_path):
    segments, labels, rr = rr_task(32)
    config = TrainConfig(epochs=1, batch_size=32, validation="beats", augment=False,
                         model=ModelConfig(arch="cnn-bilstm", pre_r_s=0.25))
    result = train(segments, labels, config=config, rr=rr)
    path = tmp_path / "m.pt"
    save_checkpoint(path, result.model, logit_bias=result.logit_bias)
    net, checkpoint = load_checkpoint(path)
    assert type(net).__name__ == "CnnBiLstmNet" and checkpoint["arch"] == "cnn-bilstm"
    assert checkpoint["inputs"] == ["segments", "rr"] and checkpoint["pre_r_s"] == 0.25
    # the R-R standardization is fitted on the training beats (80% of these) and travels with the weights
    assert torch.equal(net.extra_mean, result.model.extra_mean) and torch.equal(net.extra_std, result.model.extra_std)
    assert torch.allclose(net.extra_mean, torch.log(torch.from_numpy(rr)).mean(0), atol=0.1)
    with torch.inference_mode():
        x, r = torch.from_numpy(segments[:8]), torch.from_numpy(rr[:8])
        assert torch.allclose(net(x, r), result.model.eval()(x, r), atol=1e-6)


def test_checkpoint_keeps_its_own_class_names_and_refuses_names_that_do_not_fit(tmp_path):
    path = tmp_path / "three.pt"
    net = KachueeNet(ModelConfig(n_classes=3, class_names=("normal", "LBBB", "RBBB")))
    save_checkpoint(path, net)
    model, checkpoint = load_checkpoint(path)
    assert checkpoint["class_names"] == ["normal", "LBBB", "RBBB"] and model.config.class_names == ("normal", "LBBB", "RBBB")
    config = {**vars(net.config), "class_names": ("N", "S")}
    torch.save({"config": config, "state_dict": net.state_dict(), "class_names": ["N", "S"]}, path)
    with pytest.raises(ValueError, match=r"three.pt is not a consistent ecgseg classifier checkpoint \(3 classes but 2 class names"):
        load_checkpoint(path)
    legacy = {k: v for k, v in vars(net.config).items() if k != "class_names"}  # written before transfer tasks
    torch.save({"config": {**legacy, "n_classes": 3}, "state_dict": net.state_dict(), "class_names": ["N", "S", "V"]}, path)
    assert load_checkpoint(path)[0].config.class_names == ("N", "S", "V")


def test_pickled_object_in_a_model_file_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"config": {}, "state_dict": {}, "payload": Exception("x")}, path)  # arbitrary object: needs unpickling
    with pytest.raises(ValueError, match=r"evil.pt holds Python objects beside its tensors, which are never loaded "
                                         r"\(unpickling them can run code\); a model from `ecgseg train` holds none$"):
        load_checkpoint(path)


def test_not_a_model_file_is_refused(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"junk.pt is a text file, not a model from `ecgseg train`$"):
        load_checkpoint(path)
    path.write_bytes(bytes(range(256)))  # binary, neither a torch archive nor a pickle (a PNG, say)
    with pytest.raises(ValueError, match=r"junk.pt is not a model from `ecgseg train` \(neither a torch file nor a "
                                         r"pickle\)$"):
        load_checkpoint(path)
    good = tmp_path / "good.pt"
    save_checkpoint(good, build_model(ModelConfig()))
    path.write_bytes(good.read_bytes()[:2000])  # a torch archive cut short
    with pytest.raises(ValueError, match=r"junk.pt is a torch file that cannot be loaded as a model \(\w+\); is it "
                                         r"truncated\?$"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_two_channel_checkpoint_round_trip(tmp_path):
    net = build_model(ModelConfig(in_channels=2, n_extra=15)).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net)
    loaded, checkpoint = load_checkpoint(path)
    assert loaded.config.in_channels == 2 and loaded.config.n_extra == 15
    x, extra = torch.rand(3, 2, 187), torch.rand(3, 15) + 0.5
    assert torch.equal(net(x, extra), loaded(x, extra))
    assert torch.load(path, weights_only=True)["config"]["in_channels"] == 2
