"""Does an estimate look like a hand? The tracker's check of a track by its own estimates (issue 26).

A detector's score is calibrated differently by every detector, and a false box on the background can score
as high as a hand; the estimate made from that box can still be judged against the camera: its keypoints
must stay inside the crop the network saw, the wrist must lie at a depth a hand can have in front of the
camera, and the hand's projected size must fit the box it was estimated from. The tracker publishes a
track only after its estimates pass (``TrackerConfig.min_plausible_estimates``) and ends a track whose
estimates stop passing (``TrackerConfig.max_implausible_estimates``).
"""

from __future__ import annotations

import numpy as np

from wildhands_core.estimate import HandEstimate


def implausibility(
    estimate: HandEstimate,
    min_keypoints_in_crop: float,
    depth_range_m: tuple[float, float],
    size_ratio_range: tuple[float, float],
    max_centre_offset: float = float("inf"),
) -> str | None:
    """Why ``estimate`` does not look like a hand, or None when it does.

    - ``keypoints_outside_crop``: fewer than ``min_keypoints_in_crop`` of its 21 keypoints (px) inside
      ``crop_xyxy_px`` (NaN keypoints are outside);
    - ``depth``: the wrist's z (metres, camera optical frame: z forward) outside ``depth_range_m``, or not
      finite;
    - ``size``: the longest side of the keypoints' bounding box over the longest side of the box it was
      estimated from (``box_xyxy_px``) outside ``size_ratio_range`` (a hand filling a tenth of its box, or
      ten times it, is not the hand the box shows);
    - ``offset``: the mean of its keypoints (px) farther from the centre of ``box_xyxy_px`` than
      ``max_centre_offset`` x the box's longest side (the network placed the hand beside the box it was
      given: on the other hand, or on nothing).
    """
    if estimate.keypoints_in_crop < min_keypoints_in_crop:
        return "keypoints_outside_crop"
    z = float(np.asarray(estimate.joints_m, dtype=np.float64).reshape(-1, 3)[0, 2])
    if not np.isfinite(z) or not depth_range_m[0] <= z <= depth_range_m[1]:
        return "depth"
    kp = np.asarray(estimate.keypoints_px, dtype=np.float64).reshape(-1, 2)
    box = np.asarray(estimate.box_xyxy_px, dtype=np.float64).reshape(4)
    box_side = float(max(box[2] - box[0], box[3] - box[1]))
    if box_side > 0.0:
        extent = float(np.max(np.nanmax(kp, axis=0) - np.nanmin(kp, axis=0)))
        ratio = extent / box_side
        if not np.isfinite(ratio) or not size_ratio_range[0] <= ratio <= size_ratio_range[1]:
            return "size"
        centre = 0.5 * (box[:2] + box[2:])
        offset = float(np.linalg.norm(np.nanmean(kp, axis=0) - centre)) / box_side
        if not np.isfinite(offset) or offset > max_centre_offset:
            return "offset"
    return None
