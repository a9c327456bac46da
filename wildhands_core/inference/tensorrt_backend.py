"""TensorRT backend (TensorRT 10 Python API, cuda-python buffers), built from the exported ONNX file.

- The engine is built in FP16 (or FP32) with one optimisation profile: hands 1..``max_hands`` (opt 2),
  frames 1..``max_frames`` (opt 1), and cached on disk by :class:`EngineCache` keyed by (ONNX SHA-256,
  TensorRT version, GPU name, precision, profile); it is rebuilt only when the key changes.
- Name-based tensor I/O (``set_input_shape`` / ``set_tensor_address``) and ``execute_async_v3`` on a
  dedicated CUDA stream; host buffers are pinned (``cudaMallocHost``) and reused between calls, device
  buffers are sized for the profile's maximum once at start-up; a warm-up run happens in the constructor.

TensorRT and a CUDA GPU are needed to run it (``tensorrt`` and ``cuda-python`` packages).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from wildhands_core.constants import INPUT_SIZE
from wildhands_core.inference.engine_cache import EngineCache, EngineKey, file_sha256
from wildhands_core.inference.graph import INPUT_NAMES

_HANDS_AXIS_INPUTS = ("crops", "frame_idx", "is_right", "boxes_224", "K_224")
_TRAILING = {
    "images": (3, INPUT_SIZE, INPUT_SIZE),
    "crops": (3, INPUT_SIZE, INPUT_SIZE),
    "frame_idx": (),
    "is_right": (),
    "boxes_224": (4,),
    "K_224": (3, 3),
}


def tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401
        from cuda.bindings import runtime as cudart

        err, count = cudart.cudaGetDeviceCount()
        return int(err) == 0 and count > 0
    except Exception:
        return False


def _check(result):
    """cuda-python calls return (err, *values); raise on error, return the values."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else tuple(rest)


def profile_shapes(name: str, max_hands: int, max_frames: int) -> tuple[tuple, tuple, tuple]:
    """(min, opt, max) shapes of input ``name`` for the optimisation profile."""
    trailing = _TRAILING[name]
    if name == "images":
        return (1, *trailing), (1, *trailing), (max_frames, *trailing)
    return (1, *trailing), (min(2, max_hands), *trailing), (max_hands, *trailing)


def build_engine(
    onnx_path: str | Path, fp16: bool, max_hands: int, max_frames: int, workspace_bytes: int = 2 << 30
) -> bytes:
    """Parse the ONNX file and build a serialized engine (TensorRT 10)."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name in INPUT_NAMES:
        profile.set_shape(name, *profile_shapes(name, max_hands, max_frames))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT engine build failed (see the TensorRT log above)")
    return bytes(serialized)


def engine_key(onnx_path: str | Path, fp16: bool, max_hands: int, max_frames: int) -> EngineKey:
    import tensorrt as trt
    from cuda.bindings import runtime as cudart

    props = _check(cudart.cudaGetDeviceProperties(0))
    gpu = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return EngineKey(
        onnx_sha256=file_sha256(onnx_path),
        tensorrt_version=trt.__version__,
        gpu_name=gpu.strip("\x00"),
        precision="fp16" if fp16 else "fp32",
        max_hands=max_hands,
        max_frames=max_frames,
    )


class _PinnedBuffer:
    """A pinned host buffer and a device buffer of ``nbytes`` each."""

    def __init__(self, nbytes: int) -> None:
        from cuda.bindings import runtime as cudart

        self.nbytes = max(int(nbytes), 1)
        self.host_ptr = _check(cudart.cudaMallocHost(self.nbytes))
        self.device_ptr = _check(cudart.cudaMalloc(self.nbytes))
        self.host = np.ctypeslib.as_array((ctypes.c_uint8 * self.nbytes).from_address(int(self.host_ptr)))

    def free(self) -> None:
        from cuda.bindings import runtime as cudart

        cudart.cudaFreeHost(self.host_ptr)
        cudart.cudaFree(self.device_ptr)


class TensorRTBackend:
    """Runs the inference graph with a cached TensorRT engine; ``run`` has the same contract as the other
    backends (numpy in, numpy out)."""

    def __init__(
        self,
        onnx_path: str | Path,
        cache_dir: str | Path,
        fp16: bool = True,
        max_hands: int = 4,
        max_frames: int = 1,
        warmup: bool = True,
    ) -> None:
        import tensorrt as trt
        from cuda.bindings import runtime as cudart

        self.max_hands, self.max_frames = max_hands, max_frames
        key = engine_key(onnx_path, fp16, max_hands, max_frames)
        cache = EngineCache(cache_dir)
        blob = cache.get(key)
        self.built_now = blob is None
        if blob is None:
            blob = build_engine(onnx_path, fp16, max_hands, max_frames)
            cache.put(key, blob)
        self.engine_path = cache.path(key)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self._logger)
        self.engine = self.runtime.deserialize_cuda_engine(blob)
        self.context = self.engine.create_execution_context()
        self.stream = _check(cudart.cudaStreamCreate())
        #: the ONNX file's outputs, in the engine's order (the vertices only when exported with them)
        self.output_names = tuple(
            n for n in (self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors))
            if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT
        )
        self.dtypes = {
            n: np.dtype(trt.nptype(self.engine.get_tensor_dtype(n)))
            for n in (*INPUT_NAMES, *self.output_names)
        }
        self.buffers: dict[str, _PinnedBuffer] = {}
        for name in INPUT_NAMES:
            shape = profile_shapes(name, max_hands, max_frames)[2]
            self.buffers[name] = _PinnedBuffer(int(np.prod(shape)) * self.dtypes[name].itemsize)
        for name in self.output_names:  # every output has N rows
            trailing = tuple(d for d in self.engine.get_tensor_shape(name)[1:])
            self.buffers[name] = _PinnedBuffer(
                max_hands * int(np.prod(trailing)) * self.dtypes[name].itemsize
            )
        for name, buf in self.buffers.items():
            self.context.set_tensor_address(name, int(buf.device_ptr))
        self.name = "tensorrt-" + key.precision
        if warmup:
            from wildhands_core.inference.export import example_inputs

            self.run(example_inputs(n_frames=1, hands_per_frame=(True, False)[: min(2, max_hands)]))

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from cuda.bindings import runtime as cudart

        n = int(inputs["crops"].shape[0])
        f = int(inputs["images"].shape[0])
        if n > self.max_hands or f > self.max_frames:
            raise ValueError(
                f"{n} hands / {f} frames exceed the engine profile ({self.max_hands}/{self.max_frames})"
            )
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name in INPUT_NAMES:
            arr = np.ascontiguousarray(inputs[name], dtype=self.dtypes[name])
            buf = self.buffers[name]
            buf.host[: arr.nbytes] = arr.reshape(-1).view(np.uint8)
            self.context.set_input_shape(name, arr.shape)
            _check(cudart.cudaMemcpyAsync(buf.device_ptr, buf.host_ptr, arr.nbytes, h2d, self.stream))
        if not self.context.execute_async_v3(self.stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        shapes = {name: tuple(self.context.get_tensor_shape(name)) for name in self.output_names}
        for name in self.output_names:
            nbytes = int(np.prod(shapes[name])) * self.dtypes[name].itemsize
            buf = self.buffers[name]
            _check(cudart.cudaMemcpyAsync(buf.host_ptr, buf.device_ptr, nbytes, d2h, self.stream))
        _check(cudart.cudaStreamSynchronize(self.stream))
        out = {}
        for name in self.output_names:
            nbytes = int(np.prod(shapes[name])) * self.dtypes[name].itemsize
            out[name] = (
                self.buffers[name]
                .host[:nbytes]
                .view(self.dtypes[name])
                .reshape(shapes[name])
                .astype(np.float32)
            )
        return out

    def close(self) -> None:
        from cuda.bindings import runtime as cudart

        for buf in self.buffers.values():
            buf.free()
        self.buffers = {}
        cudart.cudaStreamDestroy(self.stream)
