"""ONNX Runtime backend: CPU here; the CUDA / TensorRT execution providers are used when installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class OnnxRuntimeBackend:
    """Runs an ONNX file exported by :func:`wildhands_core.inference.export.export_onnx`; ``run`` returns
    the file's outputs (``output_names``).

    ``threads``: intra-op threads (0 = ONNX Runtime's default, one per core). ``spin``: let idle intra-op
    threads busy-wait for work (ONNX Runtime's default). Off here: a live node shares its cores with its
    own executor, the camera driver and DDS, and threads spinning between the graph's operators take
    their time (the same results, computed in the same order)."""

    def __init__(
        self, onnx_path: str | Path, providers: list[str] | None = None, threads: int = 0, spin: bool = False
    ) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        chosen = [p for p in (providers or PREFERRED_PROVIDERS) if p in available]
        if not chosen:
            raise RuntimeError(f"none of the ONNX Runtime providers {providers} is available ({available})")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spin else "0")
        self.onnx_path = Path(onnx_path)
        self.session = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=chosen)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        self.providers = self.session.get_providers()
        self.name = "onnxruntime-" + self.providers[0].replace("ExecutionProvider", "").lower()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {k: inputs[k] for k in self.input_names}
        outs = self.session.run(list(self.output_names), feed)
        return dict(zip(self.output_names, outs, strict=True))
