"""The names of the inference backends and devices: THE lists (node parameter, CLIs, launch file).

A module of its own, importing nothing, so that the launch file can name the backends without importing
torch (``wildhands_core.estimator`` re-exports both)."""

#: Inference backends of the network.
BACKENDS: tuple[str, ...] = ("torch", "onnxruntime", "tensorrt")
#: Inference devices ("cuda" = the current CUDA device).
DEVICES: tuple[str, ...] = ("cpu", "cuda")
