"""Inference backends behind one interface (torch, ONNX Runtime, TensorRT) and the ONNX export graph."""

from wildhands_core.inference.graph import (
    INPUT_NAMES,
    OUTPUT_NAMES,
    VERTICES_NAME,
    InferenceGraph,
    output_names,
)

__all__ = ["INPUT_NAMES", "OUTPUT_NAMES", "VERTICES_NAME", "InferenceGraph", "output_names"]
