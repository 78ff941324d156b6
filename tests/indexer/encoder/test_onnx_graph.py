"""Pad fusion on exported graphs: no Pad left where it can fold, same arithmetic either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

from indexer.encoder.checkpoint import default_model
from indexer.encoder.onnx_encoder import export_onnx
from indexer.encoder.onnx_graph import fuse_pads, optimise


class AsymmetricPad(nn.Module):
    """TensorFlow-style 'SAME' stride-2 convolution: zero pad bottom/right, then convolve."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.other = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (0, 1, 0, 1))  # (B, 3, H+1, W+1)
        edge = F.pad(x, (1, 1, 1, 1), value=1.0)  # non-zero fill: must stay a Pad
        return self.conv(padded).mean((2, 3)) + self.other(edge).mean((2, 3))  # (B, 4)


def ops(path: Path) -> list[str]:
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


def test_a_zero_pad_folds_into_its_conv_and_a_valued_one_stays(tmp_path: Path) -> None:
    model = AsymmetricPad().eval()
    x = np.random.default_rng(0).normal(size=(2, 3, 16, 16)).astype(np.float32)
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, (torch.from_numpy(x),), str(path), input_names=["x"], dynamo=False)
    assert ops(path).count("Pad") == 2
    before = run(path, x)
    assert optimise(path) == 1
    assert ops(path).count("Pad") == 1
    assert np.allclose(run(path, x), before, atol=1e-5)
    with torch.no_grad():
        assert np.allclose(run(path, x), model(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_a_pad_read_by_two_nodes_is_left_alone() -> None:
    pads = onnx.numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 1, 1]), "pads")
    weight = onnx.numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    nodes = [
        onnx.helper.make_node("Pad", ["x", "pads"], ["p"]),
        onnx.helper.make_node("Conv", ["p", "w"], ["y"]),
        onnx.helper.make_node("Relu", ["p"], ["z"]),
    ]
    info = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph(
        nodes,
        "g",
        [info("x", onnx.TensorProto.FLOAT, [1, 1, 4, 4])],
        [info("y", onnx.TensorProto.FLOAT, None), info("z", onnx.TensorProto.FLOAT, None)],
        [pads, weight],
    )
    assert fuse_pads(onnx.helper.make_model(graph)) == 0


def test_the_default_encoder_exports_without_pads(tmp_path: Path) -> None:
    path = export_onnx(default_model().encoder, tmp_path / "lite0.onnx")
    assert "Pad" not in ops(path)
    assert ops(path).count("Conv") == 49
