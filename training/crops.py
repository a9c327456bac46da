"""Training inputs of one frame: K-consistent augmentation, the 224 frame, hand crops, labels mapped there.

Everything the network sees is produced by the inference code (``wildhands_core.preprocess``:
:func:`letterbox_image`, :func:`square_crop_boxes`, :func:`cut_crops`), so training and test crops agree;
only the crop BOX differs: during training it comes from the 2D keypoints (paper Sec. 4.1) or the sample's
box, is scaled by ``crop_scale`` (1.5) with a random scale and a random shift (fractions of the crop side).

K-consistent augmentation: a random scale ``s`` about the image centre plus a shift ``t`` (pixels) is one
affine map ``A`` of the pixel plane (pixel centres at integer coordinates, as ``cv2.warpAffine`` uses); the
image, the masks and mask-ignore maps (nearest; what comes from outside the image is ignored) and the 2D
keypoints / boxes are warped by ``A`` and ``K' = A K``, so the 3D labels (camera frame, metres) are
unchanged and still project onto the warped keypoints. The authors' in-plane rotation (``rotate_samples``)
turns the image about the principal point and the 3D labels with it (X' = R_z X, K' = A K R_zᵀ, = K for
square pixels). Colour jitter (brightness, contrast, saturation) and the authors' per-channel pixel scaling
do not touch geometry. All hands of a frame share one augmentation, so they share the frame's whole image.

The mask label lives in the loss frame: the hand's crop (``mask_frame="crop"``, the project's) or the whole
letterboxed 224 image (``"whole224"``, the authors'), at ``mask_size`` pixels; ``K_mask`` renders into it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from training.config import AugmentConfig
from training.sample import HandSample
from wildhands_core.camera import Letterbox
from wildhands_core.constants import INPUT_SIZE, NUM_JOINTS
from wildhands_core.preprocess import crop_affine_224, crop_and_kpe_boxes, cut_crops, whole_image_224

__all__ = [
    "BOX_SOURCES",
    "TrainFrame",
    "TrainHand",
    "colour_jitter",
    "crop_box_224",
    "hand_box_px",
    "pixel_noise",
    "prepare_frame",
    "random_image_affine",
    "random_rotation_deg",
    "rotate_samples",
    "warp_sample",
]

BOX_SOURCES = ("keypoints", "sample")
MIN_BOX_KEYPOINTS = 3  # fewer valid keypoints -> the sample's own box
IGNORE_EPS = 1e-3  # warped mask-ignore share above which a crop pixel is not supervised


@dataclass
class TrainHand:
    """One hand's crop box and labels in the 224 frame (3D in metres, camera frame; 2D in 224-frame px).

    ``mask_crop``: (S, S) float32 in [0, 1], the hand's GT mask in the crop frame at the loss resolution;
    ``K_mask``: (3, 3) intrinsics of that S x S crop image (the mask loss renders with it);
    ``mask_valid_crop``: (S, S) float32 {0, 1}, 1 = the pixel's mask label is known (supervised): 0 where the
    sample's ``mask_ignore`` (None: zeros), warped exactly like the mask (same affine, bilinear) with 1 beyond
    the image, is above ``IGNORE_EPS``: every crop pixel touching an ignored image pixel or lying (partly)
    outside the image, where a hand cut by the image border has no label; None without a mask.
    """

    sample: HandSample  # after augmentation (original-resolution geometry)
    crop_box_224: np.ndarray  # (4,) the square cut for the crop
    kpe_box_224: np.ndarray  # (4,) the box given to the KPE (the crop, clipped to the image in "release")
    keypoints_224: np.ndarray | None  # (21, 2)
    keypoints_valid: np.ndarray  # (21,) bool
    joints3d_valid: np.ndarray  # (21,) bool
    mask_crop: np.ndarray | None
    K_mask: np.ndarray
    mask_valid_crop: np.ndarray | None = None


@dataclass
class TrainFrame:
    """One frame ready for the network: letterboxed image, its hands' crops (uint8) and labels."""

    whole_224: np.ndarray  # (224, 224, 3) uint8
    crops: np.ndarray  # (N, 224, 224, 3) uint8
    K_224: np.ndarray  # (3, 3)
    hands: list[TrainHand]
    dataset: str


def random_image_affine(
    rng: np.random.Generator, width: int, height: int, scale_range: tuple[float, float], shift: float
) -> np.ndarray:
    """(3, 3) pixel-plane affine: scale U(scale_range) about the image centre, then a shift of
    U(-shift, shift) x (width, height) pixels. Identity when the range is (1, 1) and shift 0."""
    lo, hi = scale_range
    s = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    tx, ty = (rng.uniform(-shift, shift, size=2) * (width, height)) if shift > 0 else (0.0, 0.0)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return np.array([[s, 0.0, cx - s * cx + tx], [0.0, s, cy - s * cy + ty], [0.0, 0.0, 1.0]])


def _apply_points(A: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ A[:2, :2].T + A[:2, 2]


def warp_sample(sample: HandSample, A: np.ndarray, image: np.ndarray | None = None) -> HandSample:
    """``sample`` seen through the pixel affine ``A`` (3, 3): same image size, K' = A K, 2D labels and mask
    warped, 3D labels unchanged. ``image``: the already-warped image to share between hands of a frame."""
    h, w = sample.image.shape[:2]
    if image is None:
        image = cv2.warpAffine(sample.image, A[:2], (w, h), flags=cv2.INTER_LINEAR)
    box = _apply_points(A, np.asarray(sample.box_xyxy_px, dtype=np.float64).reshape(2, 2)).reshape(4)
    kp = sample.keypoints_px
    kp = None if kp is None else _apply_points(A, np.asarray(kp, np.float64))
    mask = ignore = None
    if sample.mask is not None:
        mask = cv2.warpAffine(sample.mask, A[:2], (w, h), flags=cv2.INTER_NEAREST)
        # what comes from outside the original image has no label: ignored
        ignore = np.zeros((h, w), np.uint8) if sample.mask_ignore is None else sample.mask_ignore
        ignore = cv2.warpAffine(ignore, A[:2], (w, h), flags=cv2.INTER_NEAREST, borderValue=1)
    return dataclasses.replace(
        sample, image=image, K_px=A @ np.asarray(sample.K_px, dtype=np.float64), box_xyxy_px=box,
        keypoints_px=kp, mask=mask, mask_ignore=ignore,
    )


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """(H, W, 3) uint8 RGB with brightness, contrast and saturation each scaled by U(1 - s, 1 + s)."""
    if strength <= 0:
        return image
    b, c, s = rng.uniform(1.0 - strength, 1.0 + strength, size=3)
    x = image.astype(np.float32) * b
    gray = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    x = (x - gray.mean()) * c + gray.mean()
    gray = (x @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    x = (x - gray) * s + gray
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def pixel_noise(image: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """(H, W, 3) uint8 RGB with each channel scaled by its own U(1 - p, 1 + p) (the authors' colour noise)."""
    if p <= 0:
        return image
    f = rng.uniform(1.0 - p, 1.0 + p, size=3).astype(np.float32)
    return np.clip(image.astype(np.float32) * f + 0.5, 0, 255).astype(np.uint8)


def random_rotation_deg(rng: np.random.Generator, cfg: AugmentConfig) -> float:
    """The authors' rotation draw: with probability ``rotation_prob`` an angle N(0, std) clipped to +/- max
    degrees, else 0."""
    if cfg.rotation_prob <= 0 or rng.uniform() >= cfg.rotation_prob:
        return 0.0
    return float(np.clip(rng.normal(0.0, cfg.rotation_std_deg), -cfg.rotation_max_deg, cfg.rotation_max_deg))


def rotate_samples(samples: list[HandSample], angle_deg: float) -> list[HandSample]:
    """The hands of one frame seen by a camera rolled about its optical axis: the image turns by ``angle_deg``
    (counter-clockwise on screen) about the principal point, 2D labels and masks with it (nearest; what comes
    from outside the image is ignored), 3D joints X' = R_z X, MANO global orientation R_z R_go and
    translation t' = t + (R_z - I) J_wrist (smplx rotates about the rest wrist, J_wrist = the GT wrist), and
    K' = A K R_zᵀ (= K when fx = fy). Boxes become the box of their rotated corners."""
    if angle_deg == 0.0:
        return samples
    s0 = samples[0]
    h, w = s0.image.shape[:2]
    K = np.asarray(s0.K_px, dtype=np.float64)
    cx, cy = K[0, 2], K[1, 2]
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    # screen rotation by -a in image coordinates (y down) = a counter-clockwise on screen
    R2 = np.array([[c, s], [-s, c]])
    A = np.eye(3)
    A[:2, :2] = R2
    A[:2, 2] = np.array([cx, cy]) - R2 @ np.array([cx, cy])
    Rz = np.eye(3)
    Rz[:2, :2] = R2  # the same turn of the camera-frame x, y (x right, y down)
    image = cv2.warpAffine(s0.image, A[:2], (w, h), flags=cv2.INTER_LINEAR)
    out = []
    for smp in samples:
        r = warp_sample(smp, A, image)
        b = smp.box_xyxy_px
        corners = np.array([[b[i], b[j]] for i, j in ((0, 1), (2, 1), (0, 3), (2, 3))])
        rc = _apply_points(A, corners)
        changes: dict = {"K_px": A @ np.asarray(smp.K_px, np.float64) @ Rz.T,
                         "box_xyxy_px": np.concatenate([rc.min(axis=0), rc.max(axis=0)])}
        if smp.joints_cam_m is not None:
            changes["joints_cam_m"] = np.asarray(smp.joints_cam_m, np.float64) @ Rz.T
        if smp.mano_pose_aa is not None:
            pose = np.array(smp.mano_pose_aa, dtype=np.float64)
            pose[:3] = (Rotation.from_matrix(Rz) * Rotation.from_rotvec(pose[:3])).as_rotvec()
            changes["mano_pose_aa"] = pose
        if smp.mano_transl_m is not None:
            if smp.joints_cam_m is None:
                raise ValueError(f"{smp.frame_id}: rotating a MANO translation needs the GT wrist "
                                 "(joints_cam_m)")
            wrist = np.asarray(smp.joints_cam_m, np.float64)[0]
            changes["mano_transl_m"] = np.asarray(smp.mano_transl_m, np.float64) + (Rz - np.eye(3)) @ wrist
        out.append(dataclasses.replace(r, **changes))
    return out


def hand_box_px(sample: HandSample, box_source: str = "keypoints") -> np.ndarray:
    """(4,) hand box in original pixels: tight box of the valid 2D keypoints (``keypoints``, paper Sec. 4.1)
    when at least 3 are valid, else the sample's box."""
    if box_source not in BOX_SOURCES:
        raise ValueError(f"box_source must be one of {BOX_SOURCES}, got {box_source!r}")
    if box_source == "keypoints" and sample.keypoints_px is not None:
        kp = np.asarray(sample.keypoints_px, dtype=np.float64)
        ok = np.all(np.isfinite(kp), axis=1)
        if sample.keypoints_valid is not None:
            ok &= np.asarray(sample.keypoints_valid, dtype=bool)
        if ok.sum() >= MIN_BOX_KEYPOINTS:
            lo, hi = kp[ok].min(axis=0), kp[ok].max(axis=0)
            if np.all(hi - lo > 1.0):
                return np.concatenate([lo, hi])
    return np.asarray(sample.box_xyxy_px, dtype=np.float64).reshape(4)


def crop_box_224(
    box_224: np.ndarray, crop_scale: float, rng: np.random.Generator | None, scale_jitter: float,
    shift_jitter: float, convention: str = "release", box_shift: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(4,) hand box (224 frame) -> ((4,) crop box, (4,) KPE box): square of ``crop_scale`` x
    U(1 -/+ scale_jitter) x the longest side, centre shifted by U(-/+ shift_jitter) x that side and by
    U(-/+ box_shift) x the box's own width / height (the authors' shift), clipped as at inference under
    ``convention`` (:func:`wildhands_core.preprocess.crop_and_kpe_boxes`)."""
    b = np.asarray(box_224, dtype=np.float64).reshape(4)
    scale = crop_scale
    if rng is not None and box_shift > 0:
        d = rng.uniform(-box_shift, box_shift, size=2) * (b[2:] - b[:2])
        b = b + np.concatenate([d, d])
    if rng is not None:
        if scale_jitter > 0:
            scale *= float(rng.uniform(1.0 - scale_jitter, 1.0 + scale_jitter))
        if shift_jitter > 0:
            side = max(b[2] - b[0], b[3] - b[1]) * scale
            d = rng.uniform(-shift_jitter, shift_jitter, size=2) * side
            b = b + np.concatenate([d, d])
    crop, kpe = crop_and_kpe_boxes(b[None], scale, convention)
    return crop[0], kpe[0]


def prepare_frame(
    samples: list[HandSample],
    cfg: AugmentConfig,
    rng: np.random.Generator | None,
    mask_size: int = 56,
    box_source: str = "keypoints",
    convention: str = "release",
    mask_frame: str = "crop",
) -> TrainFrame:
    """All hands of one frame (same image and K) -> :class:`TrainFrame`. ``rng`` None: no randomness.
    ``convention``: the model's ``input_convention`` (whole image, crops and KPE boxes as at inference).
    ``mask_frame``: the mask label's frame, "crop" or "whole224" (see the module doc)."""
    if mask_frame not in ("crop", "whole224"):
        raise ValueError(f"mask_frame must be 'crop' or 'whole224', got {mask_frame!r}")
    if not samples:
        raise ValueError("a frame needs at least one hand")
    first = samples[0]
    image = first.image
    h, w = image.shape[:2]
    augment = cfg.enabled and rng is not None
    if augment:
        A = random_image_affine(rng, w, h, cfg.image_scale_range, cfg.image_shift)
        if not np.allclose(A, np.eye(3)):
            warped = cv2.warpAffine(image, A[:2], (w, h), flags=cv2.INTER_LINEAR)
            samples = [warp_sample(s, A, warped) for s in samples]
            image = warped
        angle = random_rotation_deg(rng, cfg)
        if angle:
            samples = rotate_samples(samples, angle)
            image = samples[0].image
        image = colour_jitter(image, rng, cfg.colour_jitter)
        image = pixel_noise(image, rng, cfg.pixel_noise)
    lb = Letterbox(w, h, convention=convention)
    whole = whole_image_224(image, lb)
    K_224 = lb.K_to_224(np.asarray(samples[0].K_px, dtype=np.float64))
    whole_to_mask = np.diag([mask_size / INPUT_SIZE, mask_size / INPUT_SIZE, 1.0])
    lb_affine = np.vstack([lb.affine_2x3(), [0.0, 0.0, 1.0]])
    boxes, hands = [], []
    for s in samples:
        box_px = hand_box_px(s, box_source)
        box_224 = _apply_points(lb_affine, box_px.reshape(2, 2)).reshape(4)
        cb, kpe_box = crop_box_224(
            box_224, cfg.crop_scale, rng if augment else None, cfg.crop_scale_jitter, cfg.crop_shift_jitter,
            convention, cfg.box_shift_jitter,
        )
        boxes.append(cb)
        kp224 = None if s.keypoints_px is None else _apply_points(lb_affine, np.asarray(s.keypoints_px))
        kv = np.ones(NUM_JOINTS, bool) if s.keypoints_valid is None else np.asarray(s.keypoints_valid, bool)
        if kp224 is not None:
            kv = kv & np.all(np.isfinite(kp224), axis=1)
        j3v = np.asarray(s.extra.get("joints3d_valid", np.ones(NUM_JOINTS, bool)), dtype=bool)
        A_mask = crop_affine_224(cb, mask_size, convention) if mask_frame == "crop" else whole_to_mask
        mask_crop = valid_crop = None
        if s.mask is not None:
            M = (A_mask @ lb_affine)[:2]
            mask_crop = _warp_to_crop(s.mask, M, mask_size)
            # a crop pixel blending in any ignored image pixel (or one outside the image) has an unknown label
            # too: its mask value is right if the hand lies in front of the other segment, wrong if behind
            ignore = np.zeros(s.mask.shape, np.uint8) if s.mask_ignore is None else s.mask_ignore
            valid_crop = (_warp_to_crop(ignore, M, mask_size, outside=1.0) <= IGNORE_EPS).astype(np.float32)
        hands.append(
            TrainHand(
                sample=s, crop_box_224=cb, kpe_box_224=kpe_box, keypoints_224=kp224, keypoints_valid=kv,
                joints3d_valid=j3v,
                mask_crop=mask_crop, K_mask=A_mask @ K_224, mask_valid_crop=valid_crop,
            )
        )
    crops = cut_crops(image, whole, lb, np.stack(boxes), "whole224", INPUT_SIZE)
    return TrainFrame(whole_224=whole, crops=crops, K_224=K_224, hands=hands, dataset=first.dataset)


def _warp_to_crop(label: np.ndarray, M: np.ndarray, size: int, outside: float = 0.0) -> np.ndarray:
    """(H, W) {0, 1} map in original pixels -> (size, size) float32 in [0, 1] through the 2x3 affine ``M``
    (bilinear, ``outside`` beyond the image): the one warp of both the mask and its ignore map."""
    return cv2.warpAffine(
        label.astype(np.float32), M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
        borderValue=outside,
    )


