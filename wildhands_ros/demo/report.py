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
- ``smoothing_lag_ms``: the time shift that best aligns the smoothed wrist trajectory with the truth minus
  the same for the raw one (how much later the smoothing makes the output), milliseconds.
- ``frames_played``, ``frames_estimated`` (frames the node published with >= 1 hand),
  ``frames_recorded`` (HandArray messages in the bag), ``frames_dropped_by_node`` (the node's own count of
  frames it skipped because it was busy, newest-frame-wins), ``frames_unanswered`` (played and neither
  published nor counted as dropped: should be 0).
- ``throughput_fps``: published frames per second of playing time.
- ``latency_p50_ms`` / ``latency_p95_ms``: image stamp to publication, from HandArray.latency_ms.
"""

from __future__ import annotations

import numpy as np

from training.metrics import jitter_mm_s2, mpjpe_mm, mrrpe_mm, pa_mpjpe_mm


def _lag_s(est: np.ndarray, truth: np.ndarray, t_s: np.ndarray, max_shift_s: float = 0.2) -> float:
    """Time shift (s) that minimises the error between est(t) and truth(t - shift), by interpolation."""
    shifts = np.linspace(-max_shift_s, max_shift_s, 161)
    errs = []
    for sh in shifts:
        tt = t_s - sh
        ok = (tt >= t_s[0]) & (tt <= t_s[-1])
        if ok.sum() < 3:
            errs.append(np.inf)
            continue
        ref = np.stack([np.interp(tt[ok], t_s, truth[:, d]) for d in range(truth.shape[1])], axis=1)
        errs.append(float(np.mean(np.linalg.norm(est[ok] - ref, axis=1))))
    return float(shifts[int(np.argmin(errs))])


def compute_metrics(
    truth: dict[str, np.ndarray],
    published: dict[int, dict],
    raw: dict[int, dict],
    played: int,
    dropped_by_node: int,
    play_time_s: float,
    latencies_ms: list[float],
    recorded: int,
) -> dict[str, float]:
    """``truth``: labels of the played frames (``training.synth`` layout, slot 0 right, 1 left).
    ``published`` / ``raw``: frame index -> {"right"/"left": {"joints_m" (21,3), "keypoints_px" (21,2)}}."""
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

    def mean(v: list[float]) -> float:
        return float(np.mean(v)) if v else float("nan")

    out = {
        "mpjpe_mm": mean(per_joint),
        "pa_mpjpe_mm": mean(pa),
        "mrrpe_mm": mean(mrrpe),
        "kp2d_error_px": mean(kp),
        "wrist_error_mm": mean(wrist),
    }
    run = sorted(i for i in published if "right" in published[i] and i in raw and "right" in raw[i])
    nan = float("nan")
    out.update(jitter_raw_mm_s2=nan, jitter_smoothed_mm_s2=nan, jitter_truth_mm_s2=nan, smoothing_lag_ms=nan)
    if len(run) >= 5:
        t = np.asarray(run, dtype=float) / 30.0
        sm = np.stack([published[i]["right"]["joints_m"] for i in run])
        rw = np.stack([raw[i]["right"]["joints_m"] for i in run])
        gt = truth["joints_cam_m"][run, 0]
        out["jitter_raw_mm_s2"] = float(jitter_mm_s2(rw, t))
        out["jitter_smoothed_mm_s2"] = float(jitter_mm_s2(sm, t))
        out["jitter_truth_mm_s2"] = float(jitter_mm_s2(gt, t))
        out["smoothing_lag_ms"] = 1e3 * (_lag_s(sm[:, 0], gt[:, 0], t) - _lag_s(rw[:, 0], gt[:, 0], t))
    estimated = sum(1 for h in published.values() if h)
    answered = len(published) + dropped_by_node
    out.update(
        frames_played=played,
        frames_estimated=estimated,
        frames_recorded=recorded,
        frames_dropped_by_node=dropped_by_node,
        frames_unanswered=max(played - answered, 0),
        throughput_fps=len(published) / play_time_s if play_time_s > 0 else nan,
        latency_p50_ms=float(np.percentile(latencies_ms, 50)) if latencies_ms else nan,
        latency_p95_ms=float(np.percentile(latencies_ms, 95)) if latencies_ms else nan,
    )
    return out


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
        ("throughput", f"{m['throughput_fps']:.1f} frames/s"),
        ("latency p50 / p95", f"{m['latency_p50_ms']:.0f} / {m['latency_p95_ms']:.0f} ms"),
    ]
    w = max(len(r[0]) for r in rows)
    return "\n".join(f"  {k:<{w}}  {v}" for k, v in rows)
