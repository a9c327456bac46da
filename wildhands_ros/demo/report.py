"""Accuracy, smoothness and timing of a demo run, computed from the recorded bag against the known truth.

Keys of ``metrics.json`` (units in the names; all accuracy figures over the frames the node published a
hand for, matched to the true hand of the same side):

- ``mpjpe_mm``: root-relative mean per-joint position error (wrist = joint 0), millimetres.
- ``pa_mpjpe_mm``: MPJPE after Procrustes alignment (scale, rotation, translation), millimetres.
- ``mrrpe_mm``: mean relative root position error of the right wrist w.r.t. the left one, in frames where
  both hands were published, millimetres.
- ``kp2d_error_px``: mean 2D distance of the published keypoints to the true ones (visible joints),
  full-image pixels.
- ``wrist_error_mm``: mean absolute 3D wrist position error in the camera frame, millimetres.
- ``jitter_raw_mm_s2`` / ``jitter_smoothed_mm_s2`` / ``jitter_truth_mm_s2``: mean absolute acceleration
  of the joints (mm/s^2) of the unsmoothed estimate, the published (smoothed) one and the truth, at the
  frames where the right hand was estimated (irregular when the node skipped frames: non-uniform
  differences over the image stamps).
  Times are frame index / the played rate (``--rate``).
- ``smoothing_lag_ms``: the delay the smoothing adds: the delay of the smoothed right-wrist trajectory behind
  the truth minus that of the raw one, each by :func:`alignment_lag_s` (same samples for every shift, the
  estimate's constant offset removed, truth at every played frame), milliseconds.
- ``frames_played``, ``frames_estimated`` (frames the node published with >= 1 hand),
  ``frames_recorded`` (HandArray messages in the bag), ``frames_dropped_by_node`` (the node's own count of
  frames it skipped because it was busy, newest-frame-wins), ``frames_lost_before_node`` (played but never
  received by the node: lost in transport, from its ``frames_received``), ``frames_rejected_by_node`` /
  ``frames_failed_by_node`` (its rejections, e.g. no CameraInfo, and processing failures),
  ``frames_published_not_recorded`` (published by the node, missing from the bag), ``frames_unanswered``
  (played and in none of these: should be 0).
- ``throughput_fps``: published frames per second of playing time.
- ``latency_p50_ms`` / ``latency_p95_ms``: image stamp to publication, from HandArray.latency_ms.
- ``robot_hand_joint_states`` (only with ``wildhands-demo --robot-hand``): JointState messages of the robot
  hand recorded in the bag, per side.
"""

from __future__ import annotations

import numpy as np

from wildhands_core.metrics import jitter_mm_s2, mpjpe_mm, mrrpe_mm, pa_mpjpe_mm


def alignment_lag_s(
    est: np.ndarray,
    est_t_s: np.ndarray,
    truth: np.ndarray,
    truth_t_s: np.ndarray,
    max_shift_s: float = 0.2,
    step_s: float = 0.001,
) -> float:
    """Delay (s) of a trajectory behind the truth: the shift ``d`` that best aligns ``est(t)`` with
    ``truth(t - d)``.

    ``est`` (T, D) at ``est_t_s`` (any subset of frames, e.g. those the node answered); ``truth`` (N, D) at
    every played frame ``truth_t_s``, interpolated linearly. Unbiased: the same samples are compared for every
    candidate shift (those whose shifted time stays inside the truth's span for all shifts), and the mean
    difference over them is removed first, so a constant error of the estimate (a model's bias) does not pull
    the alignment; the squared error is minimised on a ``step_s`` grid, refined by a parabola.
    """
    est, truth = np.asarray(est, float), np.asarray(truth, float)
    est_t_s, truth_t_s = np.asarray(est_t_s, float), np.asarray(truth_t_s, float)
    keep = (est_t_s - max_shift_s >= truth_t_s[0]) & (est_t_s + max_shift_s <= truth_t_s[-1])
    if keep.sum() < 3:
        return float("nan")
    e, t = est[keep], est_t_s[keep]
    shifts = np.arange(-max_shift_s, max_shift_s + step_s / 2, step_s)
    errs = np.empty(len(shifts))
    for k, d in enumerate(shifts):
        ref = np.stack([np.interp(t - d, truth_t_s, truth[:, j]) for j in range(truth.shape[1])], axis=1)
        diff = e - ref
        errs[k] = np.mean(np.sum((diff - diff.mean(axis=0)) ** 2, axis=1))
    k = int(np.argmin(errs))
    if 0 < k < len(shifts) - 1:  # parabola through the minimum and its neighbours
        den = errs[k - 1] - 2 * errs[k] + errs[k + 1]
        if den > 0:
            return float(shifts[k] + 0.5 * step_s * (errs[k - 1] - errs[k + 1]) / den)
    return float(shifts[k])


def compute_metrics(
    truth: dict[str, np.ndarray],
    published: dict[int, dict],
    raw: dict[int, dict],
    played: int,
    dropped_by_node: int,
    play_time_s: float,
    latencies_ms: list[float],
    recorded: int,
    rate_hz: float = 30.0,
    node_counts: dict[str, int] | None = None,
) -> dict[str, float]:
    """``truth``: labels of the played frames (``wildhands_synth`` layout, slot 0 right, 1 left), frame i
    played at ``i / rate_hz`` s. ``published`` / ``raw``: frame index -> {"right"/"left": {"joints_m" (21,3),
    "keypoints_px" (21,2)}}. ``node_counts``: the node's last diagnostics counters (``frames_received``,
    ``frames_published``, ``frames_failed``, ``rejected_total``), which explain unanswered frames."""
    out = _accuracy(truth, published)
    out.update(_smoothness(truth, published, raw, rate_hz))
    out.update(_frame_counts(published, played, dropped_by_node, play_time_s, latencies_ms, recorded,
                             node_counts))
    return out


def _mean(v: list[float]) -> float:
    return float(np.mean(v)) if v else float("nan")


def _accuracy(truth: dict[str, np.ndarray], published: dict[int, dict]) -> dict[str, float]:
    """The accuracy figures ``mpjpe_mm`` ... ``wrist_error_mm`` (module docstring)."""
    per_joint, pa, kp, wrist, mrrpe = [], [], [], [], []
    for i, hands in published.items():
        for slot, side in ((0, "right"), (1, "left")):
            if side not in hands or not truth["present"][i, slot]:
                continue
            gt = truth["joints_cam_m"][i, slot]
            pred = hands[side]["joints_m"]
            per_joint.append(float(mpjpe_mm(pred[None], gt[None])[0]))
            pa.append(float(pa_mpjpe_mm(pred[None], gt[None])[0]))
            wrist.append(float(np.linalg.norm(pred[0] - gt[0]) * 1e3))
            vis = truth["keypoints_visible"][i, slot]
            if vis.any():
                kp.append(
                    float(
                        np.mean(
                            np.linalg.norm(
                                hands[side]["keypoints_px"][vis] - truth["keypoints_px"][i, slot][vis], axis=1
                            )
                        )
                    )
                )
        if "right" in hands and "left" in hands and truth["present"][i].all():
            gt = truth["joints_cam_m"][i]
            mrrpe.append(
                float(
                    mrrpe_mm(
                        hands["right"]["joints_m"][None],
                        hands["left"]["joints_m"][None],
                        gt[0][None],
                        gt[1][None],
                    )[0]
                )
            )

    return {
        "mpjpe_mm": _mean(per_joint),
        "pa_mpjpe_mm": _mean(pa),
        "mrrpe_mm": _mean(mrrpe),
        "kp2d_error_px": _mean(kp),
        "wrist_error_mm": _mean(wrist),
    }


def _smoothness(truth: dict[str, np.ndarray], published: dict[int, dict], raw: dict[int, dict],
                rate_hz: float) -> dict[str, float]:
    """The jitters (raw, smoothed, truth) and ``smoothing_lag_ms`` of the right hand (module docstring)."""
    run = sorted(i for i in published if "right" in published[i] and i in raw and "right" in raw[i])
    nan = float("nan")
    out = {"jitter_raw_mm_s2": nan, "jitter_smoothed_mm_s2": nan, "jitter_truth_mm_s2": nan,
           "smoothing_lag_ms": nan}
    if len(run) >= 5:
        t = np.asarray(run, dtype=float) / rate_hz
        sm = np.stack([published[i]["right"]["joints_m"] for i in run])
        rw = np.stack([raw[i]["right"]["joints_m"] for i in run])
        gt = truth["joints_cam_m"][run, 0]
        out["jitter_raw_mm_s2"] = float(jitter_mm_s2(rw, t))
        out["jitter_smoothed_mm_s2"] = float(jitter_mm_s2(sm, t))
        out["jitter_truth_mm_s2"] = float(jitter_mm_s2(gt, t))
        # The truth of the right hand at every frame where it is present (not only the answered ones).
        full = np.flatnonzero(truth["present"][:, 0])
        full_t, full_wrist = full / rate_hz, truth["joints_cam_m"][full, 0, 0]
        lag_sm = alignment_lag_s(sm[:, 0], t, full_wrist, full_t)
        lag_raw = alignment_lag_s(rw[:, 0], t, full_wrist, full_t)
        out["smoothing_lag_ms"] = 1e3 * (lag_sm - lag_raw)
    return out


def _frame_counts(published: dict[int, dict], played: int, dropped_by_node: int, play_time_s: float,
                  latencies_ms: list[float], recorded: int, node_counts: dict[str, int] | None) -> dict:
    """Where every played frame went, throughput and latency percentiles (module docstring)."""
    nan = float("nan")
    estimated = sum(1 for h in published.values() if h)
    counts = node_counts or {}
    received = int(counts.get("frames_received", played))
    node_published = int(counts.get("frames_published", recorded))
    lost_before_node = max(played - received, 0)
    not_recorded = max(node_published - recorded, 0)
    rejected, failed = int(counts.get("rejected_total", 0)), int(counts.get("frames_failed", 0))
    accounted = recorded + dropped_by_node + rejected + failed + lost_before_node + not_recorded
    return dict(
        frames_played=played,
        frames_estimated=estimated,
        frames_recorded=recorded,
        frames_dropped_by_node=dropped_by_node,
        frames_lost_before_node=lost_before_node,
        frames_rejected_by_node=rejected,
        frames_failed_by_node=failed,
        frames_published_not_recorded=not_recorded,
        frames_unanswered=max(played - accounted, 0),
        throughput_fps=len(published) / play_time_s if play_time_s > 0 else nan,
        latency_p50_ms=float(np.percentile(latencies_ms, 50)) if latencies_ms else nan,
        latency_p95_ms=float(np.percentile(latencies_ms, 95)) if latencies_ms else nan,
    )


def format_metrics(m: dict[str, float]) -> str:
    rows = [
        ("root-relative MPJPE", f"{m['mpjpe_mm']:.1f} mm"),
        ("PA-MPJPE", f"{m['pa_mpjpe_mm']:.1f} mm"),
        ("MRRPE", f"{m['mrrpe_mm']:.1f} mm"),
        ("2D keypoint error", f"{m['kp2d_error_px']:.1f} px"),
        ("wrist position error", f"{m['wrist_error_mm']:.1f} mm"),
        (
            "jitter raw / smoothed / truth",
            f"{m['jitter_raw_mm_s2']:.0f} / {m['jitter_smoothed_mm_s2']:.0f} / "
            f"{m['jitter_truth_mm_s2']:.0f} mm/s^2",
        ),
        ("lag added by smoothing", f"{m['smoothing_lag_ms']:.1f} ms"),
        (
            "frames played / estimated / recorded",
            f"{m['frames_played']} / {m['frames_estimated']} / {m['frames_recorded']}",
        ),
        (
            "frames dropped by the node (busy) / unanswered",
            f"{m['frames_dropped_by_node']} / {m['frames_unanswered']}",
        ),
        (
            "frames lost before the node / rejected / failed / not recorded",
            f"{m['frames_lost_before_node']} / {m['frames_rejected_by_node']} / "
            f"{m['frames_failed_by_node']} / {m['frames_published_not_recorded']}",
        ),
        ("throughput", f"{m['throughput_fps']:.1f} frames/s"),
        ("latency p50 / p95", f"{m['latency_p50_ms']:.0f} / {m['latency_p95_ms']:.0f} ms"),
    ]
    w = max(len(r[0]) for r in rows)
    return "\n".join(f"  {k:<{w}}  {v}" for k, v in rows)
