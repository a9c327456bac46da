"""The inference graph: everything from network inputs to 3D hands, as one module with fixed named
inputs and outputs, so that torch, ONNX Runtime and TensorRT run exactly the same computation.

Inputs (F frames, N hands):
  ``images`` (F, 3, 224, 224) float32 ImageNet-normalised letterboxed whole images,
  ``crops`` (N, 3, 224, 224) float32 normalised hand crops,
  ``frame_idx`` (N,) int64 frame of each hand, ``is_right`` (N,) bool,
  ``boxes_224`` (N, 4) float32 crop boxes in the 224 frame, ``K_224`` (N, 3, 3) float32 224-frame intrinsics.
Outputs (N hands): see :func:`output_names`; metres in the camera optical frame, axis-angle in radians.

MANO and the weak-perspective camera run inside the graph (decided by measurement: on CPU they cost < 2 % of
the trunks, and keeping them in the graph avoids a second framework round-trip per frame in ONNX
Runtime/TensorRT). The 2D keypoints are projected afterwards with the image's own K
(``HandPoseEstimator.postprocess``); training reads the model's other outputs (``keypoints_224_px``,
``cam_wp``, ...) from :class:`~wildhands_core.model.wildhands.WildHands` directly.
"""

from __future__ import annotations

from torch import nn

from wildhands_core.constants import NUM_GRASP_CLASSES

#: Bump whenever the computation or the outputs of the graph change (invalidates cached ONNX exports).
GRAPH_VERSION = 4  # 4: no separate Pad nodes before the EfficientNet-Lite convolutions

INPUT_NAMES = ("images", "crops", "frame_idx", "is_right", "boxes_224", "K_224")
#: What the estimator reads (``HandPoseEstimator.postprocess``), always computed.
OUTPUT_NAMES = (
    "joints_cam_m",
    "transl_cam_m",
    "global_orient_aa",
    "hand_pose_aa",
    "betas",
    "grasp_prob",
    "right_prob",
)
#: The MANO mesh (N, 778, 3), metres, camera frame: an output only of graphs built ``return_vertices``.
VERTICES_NAME = "vertices_cam_m"


def output_names(return_vertices: bool) -> tuple[str, ...]:
    """The outputs of a graph built with ``return_vertices``, in order."""
    return (*OUTPUT_NAMES, VERTICES_NAME) if return_vertices else OUTPUT_NAMES


class InferenceGraph(nn.Module):
    """Wraps :class:`wildhands_core.model.wildhands.WildHands` with tuple outputs in ``self.output_names``
    order (``OUTPUT_NAMES``, then ``vertices_cam_m`` when built ``return_vertices``: the mesh is neither
    computed nor copied back otherwise).

    Networks built without a grasp head output a uniform ``grasp_prob`` (1/9 each), and without a side
    classifier a NaN ``right_prob`` (no opinion on the side), so that every backend has the same outputs.
    """

    def __init__(self, model: nn.Module, return_vertices: bool = False) -> None:
        super().__init__()
        self.model = model.eval()
        self.return_vertices = bool(return_vertices)
        self.output_names = output_names(self.return_vertices)

    def forward(self, images, crops, frame_idx, is_right, boxes_224, K_224):
        out = self.model(
            images, crops, frame_idx, is_right, boxes_224, K_224, return_vertices=self.return_vertices
        )
        n = out["betas"].shape[0]
        if "grasp_prob" not in out:
            out["grasp_prob"] = out["betas"].new_full((n, NUM_GRASP_CLASSES), 1.0 / NUM_GRASP_CLASSES)
        if "right_prob" not in out:
            out["right_prob"] = out["betas"].new_full((n,), float("nan"))
        return tuple(out[k] for k in self.output_names)
