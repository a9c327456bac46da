"""The inference graph: everything from network inputs to 3D hands, as one module with fixed named
inputs and outputs, so that torch, ONNX Runtime and TensorRT run exactly the same computation.

Inputs (F frames, N hands):
  ``images`` (F, 3, 224, 224) float32 ImageNet-normalised letterboxed whole images,
  ``crops`` (N, 3, 224, 224) float32 normalised hand crops,
  ``frame_idx`` (N,) int64 frame of each hand, ``is_right`` (N,) bool,
  ``boxes_224`` (N, 4) float32 crop boxes in the 224 frame, ``K_224`` (N, 3, 3) float32 224-frame intrinsics.
Outputs (N hands): see ``OUTPUT_NAMES``; metres in the camera optical frame, 224-frame pixels.

MANO and the projection run inside the graph (decided by measurement: on CPU they cost < 2 % of the trunks,
and keeping them in the graph avoids a second framework round-trip per frame in ONNX Runtime/TensorRT).
"""

from __future__ import annotations

from torch import nn

#: Bump whenever the computation of the graph changes (invalidates cached ONNX exports).
GRAPH_VERSION = 1

INPUT_NAMES = ("images", "crops", "frame_idx", "is_right", "boxes_224", "K_224")
OUTPUT_NAMES = (
    "joints_cam_m",
    "keypoints_224_px",
    "transl_cam_m",
    "global_orient_aa",
    "hand_pose_aa",
    "betas",
    "cam_wp",
    "grasp_prob",
    "vertices_cam_m",
)


class InferenceGraph(nn.Module):
    """Wraps :class:`wildhands_core.model.wildhands.WildHands` with tuple outputs in ``OUTPUT_NAMES`` order.

    Networks built without a grasp head output a uniform ``grasp_prob`` (1/9 each) so that every backend
    has the same outputs.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, images, crops, frame_idx, is_right, boxes_224, K_224):
        out = self.model(images, crops, frame_idx, is_right, boxes_224, K_224, return_vertices=True)
        if "grasp_prob" not in out:
            n = out["betas"].shape[0]
            out["grasp_prob"] = out["betas"].new_full((n, 9), 1.0 / 9.0)
        return tuple(out[k] for k in OUTPUT_NAMES)
