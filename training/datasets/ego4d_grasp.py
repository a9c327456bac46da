"""Ego4D hands with grasp labels and masks, as the WildHands authors trained on them (Cheng et al., NeurIPS
2023, "Towards a richer 2D understanding of hands at scale"): box + grasp class (+ mask) per hand, no 3D.

There is no COCO release of "Ego4D with grasp labels": the authors distribute the model predictions they
trained on (ap229997/hands, ``$DATA_DIR/ego4d_hands/``). Expected layout::

    <root>/ego4d_hands/grasp_ego.pkl             {image name: {"right_bbox", "left_bbox": [x0, y0, x1, y1]
                                                  pixels | None, "right_grasp", "left_grasp": name | None}}
    <root>/ego4d_hands/ego_blur_pred_masks.npz   optional; {image name: (H, W, 3) uint8, red channel
                                                  255 = right hand, 127 = left hand}
    <image_root>/<image name>                    the Ego4D frames (``image_root`` defaults to ``<root>``)

Fields read: the four keys of the grasp pickle and the red channel of the mask (``authors_files``). A hand is
a sample when its box is not None. Its grasp name maps through the authors' table (``Later`` = class 6,
``Other`` = 7); ``None`` is class 8, "no grasp", as the authors train it. With ``masks`` (default) and the
image in the archive the hand gets its predicted mask, cut to its box as the authors do, and ``mask_ignore``
= the other hand's mask (minus its own). Intrinsics: none; the default K is the authors' no-intrinsics KPE
for Ego4D, f = max(W, H) / 2 with the principal point at the centre (``focal_over_width`` overrides it).
Hands23's own COCO (integer ``handside``/``grasptype``) is read by ``training.datasets.hands23``.
"""

from __future__ import annotations

from pathlib import Path

from training.datasets.authors_files import (
    AuthorsHand,
    authors_hand_sample,
    authors_hands,
    open_pred_masks,
    read_grasp_pickle,
)
from training.datasets.base import HandDataset
from training.sample import HandSample

GRASP_PICKLE = "ego4d_hands/grasp_ego.pkl"
MASKS_NPZ = "ego4d_hands/ego_blur_pred_masks.npz"


def half_max_side_focal_over_width(width: int, height: int) -> float:
    """Focal / width of the authors' no-intrinsics KPE: f = max(W, H) / 2."""
    return 0.5 * max(width, height) / width


class Ego4DGraspDataset(HandDataset):
    """Ego4D hands from the authors' ``grasp_ego.pkl`` (+ predicted masks): box, grasp class, mask, K."""

    name = "ego4d_grasp"

    def __init__(
        self,
        root: str | Path,
        image_root: str | Path | None = None,
        masks: bool = True,
        focal_over_width: float | None = None,
        path_prefix: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(root)
        self.focal_over_width = focal_over_width
        pkl = self.root / GRASP_PICKLE
        data = read_grasp_pickle(pkl)
        self._masks = None
        if masks and (self.root / MASKS_NPZ).is_file():
            self._masks = open_pred_masks(self.root / MASKS_NPZ)
        mask_names = set(self._masks.files) if self._masks is not None else None
        image_root = Path(image_root) if image_root is not None else self.root
        self._records = authors_hands(pkl, data, image_root, mask_names=mask_names, path_prefix=path_prefix)

    def _load(self, r: AuthorsHand) -> HandSample:
        return authors_hand_sample(r, self._masks, self.root / MASKS_NPZ, self.focal_over_width, self.name)
