"""Synthetic egocentric hand dataset: random frames rendered with MANO hands, written to disk.

On-disk format (``FORMAT_VERSION`` 2), directory ``DIR``:

- ``DIR/meta.json``: ``{"format": "wildhands-synth", "version": 2, "seed", "count", "width", "height",
  "hand_slots": ["right", "left"], "families": [...], "family_grasp_labels": [...], "grasp_class_names":
  [...], "mask_values": {"background": 0, "right": 1, "left": 2, "occluder": 3}, "image_ext": ".jpg"}``.
- ``DIR/images/000000.jpg``: RGB image (JPEG quality 95), frame i is ``f"{i:06d}.jpg"``.
- ``DIR/masks/000000.png``: uint8 label image, 0 background, 1 right hand, 2 left hand, 3 occluder object:
  the pixels where that part is the nearest surface (after hand-hand and occluder occlusion). Version 1
  (same images and labels) had no value 3: occluder pixels were 0 there.
- ``DIR/labels.npz``: arrays over frames N and hand slots (0 = right, 1 = left):

  ========================  ===============  ===========================================================
  ``K_px``                  (N, 3, 3) f8     intrinsics; pixel centre of the top-left pixel at (0, 0)
  ``in_scene``              (N, 2) bool      the hand was placed in the scene
  ``present``               (N, 2) bool      in scene and >= ``min_mask_pixels`` visible mask pixels
  ``is_right``              (N, 2) bool      always [True, False]
  ``pose_aa``               (N, 2, 48) f8    MANO axis-angle, global then 15 joints, relative to the mean
                                             pose (smplx ``flat_hand_mean=False``)
  ``betas``                 (N, 2, 10) f8    MANO shape
  ``transl_m``              (N, 2, 3) f8     ``joints_cam_m = MANO(pose_aa, betas).joints + transl_m``
  ``joints_cam_m``          (N, 2, 21, 3) f8 camera optical frame (x right, y down, z forward), metres,
                                             MANO21 order (``wildhands_core.constants.JOINT_NAMES``)
  ``keypoints_px``          (N, 2, 21, 2) f8 ``K @ joints_cam_m`` divided by z
  ``keypoints_visible``     (N, 2, 21) bool  inside the image, the pixel shows this hand and its surface
                                             is <= 2 cm in front of the joint (``annotate``)
  ``box_xyxy_px``           (N, 2, 4) f8     tight box of the hand's visible mask as pixel extents
                                             (min col - 0.5, min row - 0.5, max col + 0.5, max row + 0.5)
  ``box_amodal_xyxy_px``    (N, 2, 4) f8     box of all projected vertices, clipped to the image
  ``mask_pixels``           (N, 2) i8        visible mask pixels of the hand
  ``grasp_label``           (N, 2) i8        ``GRASP_CLASS_NAMES`` index of the pose family, -1 if absent
  ``family``                (N, 2) i8        index into ``meta["families"]``, -1 if absent
  ``articulation``          (N, 2, 20) f8    anatomical angles (``poses.ARTICULATION_NAMES``), radians
  ========================  ===============  ===========================================================

  Hands not in the scene have zeros (and -1 labels). Frame ``i`` depends only on ``(seed, i)``
  (``np.random.default_rng([seed, i])``), so the same seed gives byte-identical labels and images, and a
  shorter run is a prefix of a longer one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
import torch

from wildhands_core.camera import project_points
from wildhands_core.constants import GRASP_CLASS_NAMES, NUM_BETAS, NUM_JOINTS, NUM_MANO_POSE
from wildhands_synth.annotate import amodal_box, keypoint_visibility, mask_box
from wildhands_synth.background import make_background
from wildhands_synth.distractors import paint_distractors
from wildhands_synth.hands import HandModel, PosedHand, load_hand_models
from wildhands_synth.poses import FAMILIES, FAMILY_NAMES
from wildhands_synth.render import (
    MASK_BACKGROUND,
    MASK_LEFT,
    MASK_OCCLUDER,
    MASK_RIGHT,
    MeshPart,
    ellipsoid_part,
    render_parts,
)
from wildhands_synth.scene import FrameSpec, SceneConfig, sample_frame, sample_occluder

FORMAT_VERSION = 2
JPEG_QUALITY = 95
LABEL_KEYS: tuple[str, ...] = (
    "K_px", "in_scene", "present", "is_right", "pose_aa", "betas", "transl_m", "joints_cam_m", "keypoints_px",
    "keypoints_visible", "box_xyxy_px", "box_amodal_xyxy_px", "mask_pixels", "grasp_label", "family",
    "articulation",
)


@dataclass
class SynthFrame:
    """One rendered frame: image (H, W, 3) uint8 RGB, mask (H, W) uint8, labels (one frame of
    ``labels.npz``: the same keys without the leading N axis)."""

    image: np.ndarray
    mask: np.ndarray
    labels: dict[str, np.ndarray]


def min_mask_pixels(width: int, height: int) -> int:
    """Visible pixels a hand needs to count as present: 0.05 % of the image, at least 20."""
    return max(20, int(0.0005 * width * height))


def empty_labels(K_px: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "K_px": np.asarray(K_px, dtype=np.float64),
        "in_scene": np.zeros(2, bool), "present": np.zeros(2, bool), "is_right": np.array([True, False]),
        "pose_aa": np.zeros((2, NUM_MANO_POSE)), "betas": np.zeros((2, NUM_BETAS)),
        "transl_m": np.zeros((2, 3)),
        "joints_cam_m": np.zeros((2, NUM_JOINTS, 3)), "keypoints_px": np.zeros((2, NUM_JOINTS, 2)),
        "keypoints_visible": np.zeros((2, NUM_JOINTS), bool), "box_xyxy_px": np.zeros((2, 4)),
        "box_amodal_xyxy_px": np.zeros((2, 4)), "mask_pixels": np.zeros(2, np.int64),
        "grasp_label": np.full(2, -1, np.int64), "family": np.full(2, -1, np.int64),
        "articulation": np.zeros((2, 20)),
    }


def render_scene(
    spec: FrameSpec, posed: list[PosedHand], models: dict[bool, HandModel], rng: np.random.Generator,
    background: np.ndarray | None = None,
) -> SynthFrame:
    """Render ``spec`` whose hands are already posed (``posed[k]`` for ``spec.hands[k]``, batch of 1) and
    compute every label. ``background`` overrides ``spec.background_kind/seed`` (sequences reuse one)."""
    width, height = spec.width, spec.height
    parts = []
    for hand, p in zip(spec.hands, posed, strict=True):
        value = MASK_RIGHT if hand.is_right else MASK_LEFT
        n_verts = p.verts_cam_m.shape[1]
        # per-vertex albedo jitter seeded by the background seed: constant over a sequence (no flicker)
        jitter_rng = np.random.default_rng([spec.background_seed, value])
        albedo = np.tile(hand.skin_rgb, (n_verts, 1)) * jitter_rng.uniform(0.97, 1.03, size=(n_verts, 1))
        parts.append(MeshPart(p.verts_cam_m[0], models[hand.is_right].faces, albedo, value))
    for occ in spec.occluders:
        parts.append(ellipsoid_part(occ.centre_cam_m, occ.radii_m, occ.rotmat, occ.rgb))
    if background is None:
        background = make_background(spec.background_kind, spec.background_seed, width, height)
    res = render_parts(parts, spec.K_px, background, spec.light_dir_cam, spec.ambient, rng=rng)

    labels = empty_labels(spec.K_px)
    min_px = min_mask_pixels(width, height)
    for hand, p in zip(spec.hands, posed, strict=True):
        slot = 0 if hand.is_right else 1
        value = MASK_RIGHT if hand.is_right else MASK_LEFT
        joints = p.joints_cam_m[0]
        kp = project_points(joints, spec.K_px)
        n_px = int((res.mask == value).sum())
        labels["in_scene"][slot] = True
        labels["present"][slot] = n_px >= min_px
        labels["pose_aa"][slot] = p.pose_aa[0]
        labels["betas"][slot] = p.betas[0]
        labels["transl_m"][slot] = p.transl_m[0]
        labels["joints_cam_m"][slot] = joints
        labels["keypoints_px"][slot] = kp
        labels["keypoints_visible"][slot] = keypoint_visibility(kp, joints, res.mask, res.depth_m, value)
        labels["box_xyxy_px"][slot] = mask_box(res.mask, value)
        verts_px = project_points(p.verts_cam_m[0], spec.K_px)
        labels["box_amodal_xyxy_px"][slot] = amodal_box(verts_px, width, height)
        labels["mask_pixels"][slot] = n_px
        labels["grasp_label"][slot] = FAMILIES[hand.family].grasp_label
        labels["family"][slot] = hand.family
        labels["articulation"][slot] = hand.articulation
    return SynthFrame(image=res.image, mask=res.mask, labels=labels)


def generate_frame(
    seed: int, index: int, width: int, height: int, models: dict[bool, HandModel],
    cfg: SceneConfig | None = None,
) -> SynthFrame:
    """Frame ``index`` of the dataset of ``seed``: a pure function of (seed, index, size, models)."""
    cfg = cfg or SceneConfig()
    rng = np.random.default_rng([seed, index])
    axes = {side: m.axes for side, m in models.items()}
    spec = sample_frame(rng, width, height, axes, cfg)
    posed = [
        models[h.is_right].pose(h.articulation[None], h.global_rotmat[None], h.betas[None],
                                h.palm_centre_cam_m[None])
        for h in spec.hands
    ]
    if rng.random() < cfg.p_occluder:
        k = int(rng.integers(len(posed)))
        joint = posed[k].joints_cam_m[0, int(rng.integers(NUM_JOINTS))]
        spec.occluders.append(sample_occluder(rng, joint))
    background = None
    if cfg.p_no_hands > 0 or cfg.p_touching > 0 or cfg.max_distractors > 0:
        hard = np.random.default_rng([seed, index, 1])  # the hard negatives' own stream
        if hard.random() < cfg.p_no_hands:
            spec.hands, posed, spec.occluders = [], [], []
        if len(spec.hands) == 2 and hard.random() < cfg.p_touching:
            spec.hands[1].palm_centre_cam_m = touching_palm_centre(hard, spec.hands[0].palm_centre_cam_m)
            h = spec.hands[1]
            posed[1] = models[False].pose(h.articulation[None], h.global_rotmat[None], h.betas[None],
                                          h.palm_centre_cam_m[None])
            spec.occluders = []  # placed for the hand before it moved
        background = make_background(spec.background_kind, spec.background_seed, width, height)
        count = int(hard.integers(0, cfg.max_distractors + 1))
        background = paint_distractors(background, hard, spec.K_px, count)
    return render_scene(spec, posed, models, rng, background=background)


def touching_palm_centre(rng: np.random.Generator, right_palm_cam_m: np.ndarray) -> np.ndarray:
    """(3,) left palm centre next to the right hand's (camera frame, m): 2-9 cm to its left (up to 2 cm to
    its right: crossed), +-4 cm vertically, +-4 cm in depth: the two hands touch or overlap in the image."""
    offset = np.array([-rng.uniform(-0.02, 0.09), rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)])
    return np.asarray(right_palm_cam_m, dtype=np.float64) + offset


def meta_dict(seed: int, count: int, width: int, height: int) -> dict:
    return {
        "format": "wildhands-synth", "version": FORMAT_VERSION, "seed": seed, "count": count,
        "width": width, "height": height, "hand_slots": ["right", "left"],
        "families": list(FAMILY_NAMES), "family_grasp_labels": [f.grasp_label for f in FAMILIES],
        "grasp_class_names": list(GRASP_CLASS_NAMES),
        "mask_values": {
            "background": MASK_BACKGROUND, "right": MASK_RIGHT, "left": MASK_LEFT, "occluder": MASK_OCCLUDER,
        },
        "image_ext": ".jpg",
    }


def write_frame_files(out_dir: Path, index: int, frame: SynthFrame) -> None:
    """Write ``images/{index:06d}.jpg`` and ``masks/{index:06d}.png``."""
    bgr = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(out_dir / "images" / f"{index:06d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    cv2.imwrite(str(out_dir / "masks" / f"{index:06d}.png"), frame.mask)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous value (None: no change).

    The renderer's many small tensor ops run several times faster on one thread than on a busy pool.
    """
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


_WORKER: dict = {}


def _worker_init(out_dir: str, seed: int, width: int, height: int, mano_dir: str | None,
                 threads: int | None, scene: SceneConfig | None = None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)  # a worker process of our own pool
    models = load_hand_models(mano_dir)
    _WORKER.update(out_dir=Path(out_dir), seed=seed, width=width, height=height, models=models, scene=scene)


def _worker_frame(index: int) -> dict[str, np.ndarray]:
    w = _WORKER
    frame = generate_frame(w["seed"], index, w["width"], w["height"], w["models"], w.get("scene"))
    write_frame_files(w["out_dir"], index, frame)
    return frame.labels


def generate_dataset(
    out_dir: str | Path, frames: int, seed: int = 0, size: tuple[int, int] = (320, 240), workers: int = 1,
    mano_dir: str | None = None, progress: bool = True, threads: int | None = 1,
    scene: SceneConfig | None = None,
) -> Path:
    """Write ``frames`` frames of size ``size`` = (W, H) into ``out_dir`` (format above); returns it.

    ``workers`` > 1 renders in that many processes; the output is the same bytes either way.
    ``threads``: torch threads while rendering (per worker; restored afterwards in-process; None: as is).
    ``scene``: the scene sampling (default ``SceneConfig()``; e.g. hard negatives for a detector).
    """
    from tqdm import tqdm

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    width, height = size
    init_args = (str(out), seed, width, height, mano_dir, threads, scene)
    bar = tqdm(total=frames, disable=not progress, unit="frame", desc="wildhands-synth")
    labels: list[dict[str, np.ndarray]] = []
    if workers <= 1:
        _WORKER.update(out_dir=out, seed=seed, width=width, height=height, models=load_hand_models(mano_dir),
                       scene=scene)
        with torch_threads(threads):
            for i in range(frames):
                labels.append(_worker_frame(i))
                bar.update(1)
    else:
        with get_context("spawn").Pool(workers, initializer=_worker_init, initargs=init_args) as pool:
            for lab in pool.imap(_worker_frame, range(frames), chunksize=8):
                labels.append(lab)
                bar.update(1)
    bar.close()
    stacked = {k: np.stack([lab[k] for lab in labels]) if labels else np.zeros((0,)) for k in LABEL_KEYS}
    with open(out / "labels.npz", "wb") as fh:
        np.savez(fh, **stacked)
    meta = meta_dict(seed, frames, width, height)
    if scene is not None and (scene.p_no_hands or scene.p_touching or scene.max_distractors):
        meta["hard_negatives"] = {"p_no_hands": scene.p_no_hands, "p_touching": scene.p_touching,
                                  "max_distractors": scene.max_distractors}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
