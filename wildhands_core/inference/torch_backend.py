"""torch backend: eager (CPU), or CUDA with FP16 autocast and channels-last when a GPU is used."""

from __future__ import annotations

import numpy as np
import torch

from wildhands_core.inference.graph import INPUT_NAMES, InferenceGraph


class TorchBackend:
    """Runs :class:`InferenceGraph` with torch. ``device`` "cpu" or "cuda[:i]"; ``fp16`` uses autocast on
    CUDA (the MANO/camera tail stays FP32 inside autocast for matmuls that need it)."""

    name = "torch"

    def __init__(
        self,
        graph: InferenceGraph,
        device: str = "cpu",
        fp16: bool | None = None,
        channels_last: bool | None = None,
    ) -> None:
        self.device = torch.device(device)
        is_cuda = self.device.type == "cuda"
        self.fp16 = is_cuda if fp16 is None else (fp16 and is_cuda)
        self.graph = graph.to(self.device).eval()
        self.output_names = graph.output_names
        if channels_last if channels_last is not None else is_cuda:
            self.graph = self.graph.to(memory_format=torch.channels_last)
        self.name = f"torch-{self.device.type}" + ("-fp16" if self.fp16 else "")

    @torch.inference_mode()
    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        t = {
            k: torch.from_numpy(np.ascontiguousarray(inputs[k])).to(self.device, non_blocking=True)
            for k in INPUT_NAMES
        }
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.fp16):
            outs = self.graph(*(t[k] for k in INPUT_NAMES))
        return {k: v.float().cpu().numpy() for k, v in zip(self.output_names, outs, strict=True)}
