"""Tiny matting models: an ONNX graph for rembg's custom session and a BiRefNet-style
`trust_remote_code` folder for the BiRefNet backend.

The ONNX model has u2net's interface (input 1x3x320x320 normalised RGB, first output
1x1x320x320), built with onnx.helper: it compares the red and blue channels, so a red
object on a blue background gets a real, checkable matte. The BiRefNet folder holds a config with
`auto_map`, the model code and safetensors written by save_pretrained, exactly the files
the published BiRefNet repository has; its forward returns a list of logits maps whose
last one is the final matte, like BiRefNet's.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

_BIREFNET_CONFIG_PY = textwrap.dedent(
    """
    from transformers import PretrainedConfig


    class BiRefNetConfig(PretrainedConfig):
        model_type = "SegformerForSemanticSegmentation"

        def __init__(self, bb_pretrained=False, width=8, **kwargs):
            self.bb_pretrained = bb_pretrained
            self.width = width
            super().__init__(**kwargs)
    """
)
_BIREFNET_MODEL_PY = textwrap.dedent(
    """
    import torch
    from torch import nn
    from transformers import PreTrainedModel

    from .BiRefNet_config import BiRefNetConfig


    class BiRefNet(PreTrainedModel):
        config_class = BiRefNetConfig

        def __init__(self, config):
            super().__init__(config)
            w = config.width
            self.encoder = nn.Sequential(nn.Conv2d(3, w, 3, padding=1), nn.ReLU())
            self.coarse = nn.Conv2d(w, 1, 1)
            self.fine = nn.Conv2d(w + 1, 1, 3, padding=1)
            self.post_init()

        def _init_weights(self, module):
            pass

        def forward(self, x):
            features = self.encoder(x)
            coarse = self.coarse(features)
            return [coarse, self.fine(torch.cat([features, coarse], dim=1))]
    """
)


def build_red_channel_onnx(path: Path, size: int = 320) -> Path:
    """u2net-shaped ONNX model whose mask is sigmoid(4 * (red - blue)) of the normalised
    input: red objects on blue backgrounds come out as a clean 0/1 matte."""
    import onnx
    from onnx import TensorProto, helper

    weights = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [4.0, 0.0, -4.0])
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input.1", "w"], ["logits"], kernel_shape=[1, 1]),
            helper.make_node("Sigmoid", ["logits"], ["mask"]),
        ],
        "red_matte",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, size, size])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_tiny_birefnet(folder: Path) -> Path:
    """A BiRefNet-layout folder: config.json with auto_map, code files, model.safetensors."""
    from meshpipe.torchcompat import ensure_torchvision

    ensure_torchvision()
    import torch
    from transformers import AutoConfig
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "BiRefNet_config.py").write_text(_BIREFNET_CONFIG_PY)
    (folder / "birefnet.py").write_text(_BIREFNET_MODEL_PY)
    config = {
        "architectures": ["BiRefNet"],
        "auto_map": {
            "AutoConfig": "BiRefNet_config.BiRefNetConfig",
            "AutoModelForImageSegmentation": "birefnet.BiRefNet",
        },
        "bb_pretrained": False,
        "width": 8,
        "model_type": "SegformerForSemanticSegmentation",
    }
    (folder / "config.json").write_text(json.dumps(config))
    loaded = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model_cls = get_class_from_dynamic_module("birefnet.BiRefNet", str(folder))
    torch.manual_seed(0)
    model_cls(loaded).save_pretrained(folder)
    return folder
