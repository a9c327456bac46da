"""One estimator API for the node, the bag tools and evaluation: image + K + hand boxes -> 3D hands.

    est = HandPoseEstimator(EstimatorConfig(checkpoint="demo.pt", backend="onnxruntime"))
    hands = est.estimate(image_rgb, K_px, [HandBox(np.array([x0, y0, x1, y1]), is_right=True)])

Inputs: ``image_rgb`` (H, W, 3) uint8 RGB; ``K_px`` (3, 3) intrinsics of that image in pixels (pixel
centres at integer coordinates), or None for the release demo's assumption (focal 1000 px at the original
resolution, principal point at the image centre); boxes in full-image pixels.
Outputs: :class:`wildhands_core.estimate.HandEstimate` per box, in input order: 3D in metres in the camera
optical frame of the image, 2D in full-image pixels (the projection of the 3D joints with ``K_px``).

Pre-processing (``wildhands_core.preprocess``) follows the convention the checkpoint records
(``ModelConfig.input_convention``: the release's, or this project's format-1 one): the whole image into
the 224 frame once per frame, square crops of ``crop_scale`` x the box around each box, K mapped into the
224 frame by the same letterbox, KPE from each crop's place in that frame. All hands of a frame (and all
frames of a :meth:`HandPoseEstimator.estimate_batch` call) go through the network in one batch.

Confidence: the detector's score times the fraction of the 21 projected keypoints that fall inside the
crop the network saw (a hand estimate that leaves its own crop is implausible).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wildhands_core.backend_names import BACKENDS, DEVICES
from wildhands_core.camera import Letterbox, checked_K, project_points
from wildhands_core.config import setting
from wildhands_core.constants import INPUT_SIZE
from wildhands_core.estimate import HandBox, HandEstimate, fraction_inside
from wildhands_core.inference.graph import GRAPH_VERSION, VERTICES_NAME, InferenceGraph
from wildhands_core.preprocess import CROP_SOURCES, crop_and_kpe_boxes, cut_crops, normalize, whole_image_224

_SQUARE = (INPUT_SIZE, INPUT_SIZE)  # the network's input images and crops, pixels


@dataclass
class EstimatorConfig:
    """Estimator settings. ``checkpoint``: a project or released checkpoint file (required unless
    ``allow_random_weights``, which only tests and benchmarks use). Each field documents itself
    (``wildhands_core.config.setting``); the ROS node's ``model.*`` parameters are derived from them."""

    checkpoint: str | None = setting(
        None, description="estimator checkpoint (.ckpt/.pt); required unless allow_random_weights (the "
        "ROS node: empty = the shipped demo checkpoint, a model of synthetic hands only, with a warning)"
    )
    mano_dir: str | None = setting(
        None, description="directory holding MANO_RIGHT/LEFT .pkl/.npz; empty = WILDHANDS_MANO_DIR, the "
        "checkpoint's MANO or the procedural hand",
    )
    backend: str = setting("torch", description="inference backend", choices=BACKENDS)
    device: str = setting("cpu", description="inference device", choices=DEVICES)
    fp16: bool | None = setting(None, description="FP16 inference; None = FP16 on CUDA, FP32 on CPU")
    crop_scale: float = setting(
        1.75, description="hand crop side = longest box side x this (release demo: 1.75)", range=(1.0, 4.0)
    )  # the paper's training uses 1.5 (Sec. 4.1)
    crop_source: str = setting(
        "whole224", description="image the crops are cut from (release: the 224 letterboxed image)",
        choices=CROP_SOURCES,
    )
    max_hands: int = setting(
        4, description="boxes estimated per frame at most (the TensorRT engine profile's maximum); the "
        "node and the video tool set it to the hands they follow (TrackerConfig.max_hands)",
    )
    return_vertices: bool = setting(
        False, description="return MANO vertices (HandEstimate.vertices_m; the node: Hand.vertices_m and "
        "the mesh markers)",
    )
    onnx_path: str | None = setting(
        None, description="onnxruntime/tensorrt: this ONNX file of the checkpoint (e.g. "
        "wildhands-export --int8's int8 one); empty = exported from the checkpoint",
    )
    cache_dir: str = setting("~/.cache/wildhands", description="exported ONNX files and TensorRT engines")
    threads: int = setting(0, description="ONNX Runtime intra-op threads (0 = its default: one per core)",
                           range=(0, 64))
    allow_random_weights: bool = setting(
        False, description="run an untrained network when no checkpoint is set (tests)"
    )

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.crop_source not in CROP_SOURCES:
            raise ValueError(f"crop_source must be one of {CROP_SOURCES}, got {self.crop_source!r}")
        if not 1.0 <= self.crop_scale <= 4.0:
            raise ValueError(f"crop_scale must be in [1, 4], got {self.crop_scale}")
        if self.max_hands < 1:
            raise ValueError(f"max_hands must be >= 1, got {self.max_hands}")
        if self.checkpoint is None and not self.allow_random_weights:
            raise ValueError("EstimatorConfig.checkpoint is required (a project or released checkpoint file)")


@dataclass
class _Prepared:
    inputs: dict[str, np.ndarray]
    frame_of_hand: list[int]
    crop_boxes_px: np.ndarray  # (N, 4) crop boxes in full-image pixels
    K_px: list[np.ndarray]  # per frame: the checked intrinsics (the demo default when none was given)


def load_model(cfg: EstimatorConfig) -> torch.nn.Module:
    """The full :class:`WildHands` model (network + MANO) of ``cfg``, in eval mode."""
    from wildhands_core.checkpoint import load_any_checkpoint
    from wildhands_core.mano.layer import load_mano_pair
    from wildhands_core.model.wildhands import WildHands
    from wildhands_core.model.wildhands_net import WildHandsNet

    meta: dict = {}
    if cfg.checkpoint is None:
        net = WildHandsNet()
    else:
        path = Path(cfg.checkpoint).expanduser()
        net, _, meta = load_any_checkpoint(path)
    right, left = load_mano_pair(cfg.mano_dir, meta.get("mano"), Path(cfg.checkpoint or "").name)
    model = WildHands(net, mano_right=right, mano_left=left).eval()
    model.checkpoint_meta = meta  # what loading found (format, skipped objects, ...), for diagnostics
    return model


class HandPoseEstimator:
    """See the module docstring. Thread-compatible: one ``estimate`` at a time per instance."""

    def __init__(self, cfg: EstimatorConfig, model: torch.nn.Module | None = None) -> None:
        self.cfg = cfg
        self.model = model if model is not None else load_model(cfg)
        self.model.eval()
        self.mano_source = str(getattr(self.model.mano_r, "source", "unknown"))
        #: how the checkpoint's inputs are prepared (recorded in the checkpoint, never guessed)
        self.input_convention: str = self.model.cfg.input_convention
        graph = InferenceGraph(self.model, return_vertices=cfg.return_vertices)
        if cfg.backend == "torch":
            from wildhands_core.inference.torch_backend import TorchBackend

            self.backend = TorchBackend(graph, cfg.device, cfg.fp16)
        else:
            onnx_path = Path(cfg.onnx_path).expanduser() if cfg.onnx_path else self._export_cached(graph)
            if cfg.backend == "onnxruntime":
                from wildhands_core.inference.onnx_backend import OnnxRuntimeBackend

                providers = ["CPUExecutionProvider"] if cfg.device == "cpu" else None
                self.backend = OnnxRuntimeBackend(onnx_path, providers, cfg.threads)
            else:
                from wildhands_core.inference.tensorrt_backend import TensorRTBackend

                self.backend = TensorRTBackend(
                    onnx_path,
                    Path(cfg.cache_dir).expanduser() / "engines",
                    fp16=cfg.fp16 is not False,
                    max_hands=cfg.max_hands,
                )
        if cfg.return_vertices and VERTICES_NAME not in self.backend.output_names:
            raise ValueError(f"return_vertices: the ONNX file {cfg.onnx_path} has no {VERTICES_NAME} output "
                             "(export it with the vertices)")
        self.backend_name = self.backend.name

    def mano_faces(self) -> np.ndarray:
        """(F, 3) int64 triangle vertex indices of the right-hand MANO mesh (the node's mesh markers)."""
        faces = self.model.mano_r.faces
        return np.asarray(faces.cpu() if hasattr(faces, "cpu") else faces, dtype=np.int64)

    def _export_cached(self, graph: InferenceGraph) -> Path:
        """Export the graph to ONNX once per (graph version, outputs, torch version, weights incl. MANO
        buffers) and reuse the file."""
        from wildhands_core.inference.export import export_onnx

        outputs = ",".join(graph.output_names)
        h = hashlib.sha256(f"graph-v{GRAPH_VERSION}-{outputs}-torch-{torch.__version__}".encode())
        for k, v in sorted(graph.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        path = Path(self.cfg.cache_dir).expanduser() / "onnx" / f"wildhands-{h.hexdigest()[:20]}.onnx"
        if not path.exists():
            tmp = path.with_suffix(".partial.onnx")
            export_onnx(graph, tmp)
            tmp.replace(path)
        return path

    # ------------------------------------------------------------------------------------------------
    def prepare(self, frames: list[tuple[np.ndarray, np.ndarray | None, list[HandBox]]]) -> _Prepared:
        """Network inputs for a batch of frames (image, K or None, boxes)."""
        images, crops, crop_px, frame_K = [], [], [], []  # per frame
        frame_idx, is_right, boxes_224, K_224, frame_of_hand = [], [], [], [], []  # per hand
        for fi, (image, K_px, boxes) in enumerate(frames):
            image = _check_image(image)
            h, w = image.shape[:2]
            lb = Letterbox(w, h, convention=self.input_convention)
            K = checked_K(K_px, w, h)
            frame_K.append(K)
            whole = whole_image_224(image, lb)
            images.append(whole)
            if not boxes:
                continue
            b_px = np.stack([_check_box(b.box_xyxy_px) for b in boxes])
            b224 = lb.boxes_to_224(b_px)
            cb224, kpe224 = crop_and_kpe_boxes(b224, self.cfg.crop_scale, lb.convention, self.cfg.crop_source)
            crops.append(cut_crops(image, whole, lb, cb224, self.cfg.crop_source))
            K224 = lb.K_to_224(K)
            for b, kb in zip(boxes, kpe224, strict=True):
                frame_idx.append(fi)
                is_right.append(bool(b.is_right))
                boxes_224.append(kb)
                K_224.append(K224)
                frame_of_hand.append(fi)
            crop_px.append(lb.boxes_to_original(cb224))
        n = len(frame_idx)
        inputs = {
            "images": normalize(np.stack(images)) if images else np.zeros((0, 3, *_SQUARE), np.float32),
            "crops": normalize(np.concatenate(crops)) if n else np.zeros((0, 3, *_SQUARE), np.float32),
            "frame_idx": np.asarray(frame_idx, dtype=np.int64),
            "is_right": np.asarray(is_right, dtype=bool),
            "boxes_224": np.asarray(boxes_224, dtype=np.float32).reshape(n, 4),
            "K_224": np.asarray(K_224, dtype=np.float32).reshape(n, 3, 3),
        }
        return _Prepared(inputs, frame_of_hand, np.concatenate(crop_px) if n else np.zeros((0, 4)), frame_K)

    def estimate(
        self, image_rgb: np.ndarray, K_px: np.ndarray | None, boxes: list[HandBox]
    ) -> list[HandEstimate]:
        """Estimate every hand of one image; [] (without running the network) when there is no box."""
        if not boxes:
            _check_image(image_rgb)
            return []
        return self.estimate_batch([(image_rgb, K_px, boxes)])[0]

    def estimate_batch(
        self, frames: list[tuple[np.ndarray, np.ndarray | None, list[HandBox]]]
    ) -> list[list[HandEstimate]]:
        """Estimate the hands of several frames in one network batch (offline bag processing)."""
        for _, _, boxes in frames:
            if len(boxes) > self.cfg.max_hands:
                raise ValueError(f"{len(boxes)} boxes in one frame; max_hands is {self.cfg.max_hands}")
        results: list[list[HandEstimate]] = [[] for _ in frames]
        if not any(boxes for _, _, boxes in frames):
            return results
        prep = self.prepare(frames)
        out = self.backend.run(prep.inputs)
        return self.postprocess(frames, prep, out)

    def postprocess(
        self, frames: list[tuple[np.ndarray, np.ndarray | None, list[HandBox]]], prep: _Prepared,
        out: dict[str, np.ndarray],
    ) -> list[list[HandEstimate]]:
        """The network outputs ``out`` (N hands) as one :class:`HandEstimate` per box, grouped by frame:
        float64, keypoints projected with each frame's K (full-image pixels)."""
        results: list[list[HandEstimate]] = [[] for _ in frames]
        box_list = [b for _, _, boxes in frames for b in boxes]
        right_prob = out.get("right_prob")  # absent from ONNX files exported before the side classifier
        for i, fi in enumerate(prep.frame_of_hand):
            joints = out["joints_cam_m"][i].astype(np.float64)
            kp = project_points(joints, prep.K_px[fi])
            crop = prep.crop_boxes_px[i].astype(np.float64)
            box = box_list[i]
            results[fi].append(
                HandEstimate(
                    is_right=bool(box.is_right),
                    global_orient_aa=out["global_orient_aa"][i].astype(np.float64),
                    hand_pose_aa=out["hand_pose_aa"][i].astype(np.float64),
                    betas=out["betas"][i].astype(np.float64),
                    transl_m=out["transl_cam_m"][i].astype(np.float64),
                    joints_m=joints,
                    keypoints_px=kp,
                    box_xyxy_px=np.asarray(box.box_xyxy_px, dtype=np.float64),
                    crop_xyxy_px=crop,
                    confidence=float(np.clip(box.score, 0.0, 1.0) * fraction_inside(kp, crop)),
                    grasp_prob=out["grasp_prob"][i].astype(np.float64),
                    vertices_m=out[VERTICES_NAME][i].astype(np.float64) if self.cfg.return_vertices else None,
                    track_id=box.track_id,
                    right_prob=_probability(right_prob, i),
                )
            )
        return results


def _probability(values: np.ndarray | None, i: int) -> float | None:
    """``values[i]`` as a float in [0, 1], or None where the network gave none (no output, or NaN)."""
    if values is None:
        return None
    p = float(values[i])
    return min(max(p, 0.0), 1.0) if np.isfinite(p) else None


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"image must be an (H, W, 3) uint8 RGB array, got {getattr(image, 'shape', type(image))} "
            f"{getattr(image, 'dtype', '')}"
        )
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"image too small: {image.shape[1]}x{image.shape[0]}")
    return image


def _check_box(box: np.ndarray) -> np.ndarray:
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.shape != (4,) or not np.all(np.isfinite(b)) or b[2] <= b[0] or b[3] <= b[1]:
        raise ValueError(f"hand box must be finite (x0, y0, x1, y1) with x1 > x0, y1 > y0, got {b.tolist()}")
    return b
