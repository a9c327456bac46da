"""Benchmark of the hand smoother on a synthetic 30 Hz sequence with known smooth motion.

Truth (analytic in time, camera frame, metres): the wrist moves on a Lissajous curve about (0, 0, 0.5) m
with a time warp: slow phases (wrist ~0.05 m/s) and fast segments (up to ~0.6 m/s); the global rotation
turns about a fixed
axis with an angle swinging across pi (so its axis-angle form wraps); fingers flex and extend (15 joint
rotations about their local x axis); the 21 joints follow from a simple kinematic hand. Noise: 4 mm per
joint coordinate, translation (4, 4, 10) mm, ~2.5 deg rotations, betas 0.05; stamps jittered by
2 ms (std) and 5 % of frames dropped.

Reported (``--json``): jitter = mean |3D acceleration| over joints and frames (mm/s^2, finite differences
on the real stamps) for truth, raw and smoothed, and their ratio raw/smoothed; the same on the error
(estimate - truth) only; added lag = the time shift tau (ms) minimising the RMS of
smoothed(t) - truth(t - tau); mean joint error (mm) and mean rotation geodesic error (deg). A PNG of one
joint coordinate (raw, smoothed, truth) is written to ``--out``.

    python benchmarks/bench_smoothing.py --out /tmp/bench [--json /tmp/bench/smoothing.json] [--tune]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.estimate import HandEstimate
from wildhands_core.smoothing import HandSmoother, OneEuroParams, SmoothingConfig

FPS = 30.0
DURATION_S = 20.0
SLOW, FAST = 0.3, 3.7  # time-warp speeds: slow phases and the peak extra speed of fast segments
GLOBAL_AXIS = np.array([0.3, 1.0, 0.2]) / np.linalg.norm([0.3, 1.0, 0.2])
# Finger bases in the hand frame (m) and segment lengths (m): index, middle, pinky, ring, thumb (MANO order).
FINGER_BASES = np.array([[0.025, -0.085, 0], [0.0, -0.09, 0], [-0.04, -0.075, 0], [-0.02, -0.085, 0],
                         [0.03, -0.03, 0.01]])
SEGMENTS = np.array([[0.035, 0.025, 0.02, 0.02], [0.04, 0.028, 0.022, 0.02], [0.028, 0.02, 0.018, 0.018],
                     [0.037, 0.026, 0.02, 0.02], [0.035, 0.03, 0.025, 0.02]])


def _phase(t: np.ndarray) -> np.ndarray:
    """Warped time (s): motion runs at SLOW x real time, plus fast segments (one 1.5 s bump every 5 s, up to
    SLOW + FAST x real time): ds/dt = SLOW + FAST * sin^2(pi * (t mod 5) / 1.5) inside a bump."""
    period, width = 5.0, 1.5
    k, r = np.divmod(t, period)
    rr = np.minimum(r, width)
    bump = 0.5 * rr - width / (4 * np.pi) * np.sin(2 * np.pi * rr / width)  # integral of sin^2 over the bump
    return SLOW * t + FAST * (k * 0.5 * width + bump)


def fast_mask(t: np.ndarray) -> np.ndarray:
    """True inside the fast segments' central second (speed-up above half its peak)."""
    r = np.mod(t, 5.0)
    return (r > 0.25) & (r < 1.25)


def truth(t: np.ndarray) -> dict[str, np.ndarray]:
    """Ground truth at times t (T,): joints (T, 21, 3) m, transl (T, 3) m, rotmat (T, 16, 3, 3)."""
    s = _phase(t)
    transl = np.stack([0.12 * np.sin(2 * np.pi * 0.2 * s), 0.08 * np.sin(2 * np.pi * 0.3 * s + 0.5),
                       0.5 + 0.05 * np.sin(2 * np.pi * 0.1 * s)], axis=-1)
    angle = np.pi + 0.9 * np.sin(2 * np.pi * 0.12 * s)  # crosses pi: axis-angle wraps
    glob = Rotation.from_rotvec(angle[:, None] * GLOBAL_AXIS)
    flex = 0.7 + 0.6 * np.sin(2 * np.pi * 0.4 * s[:, None] + np.arange(5)[None] * 0.7)  # (T, 5) rad
    T = len(t)
    rotmat = np.zeros((T, 16, 3, 3))
    rotmat[:, 0] = glob.as_matrix()
    joints_local = np.zeros((T, 21, 3))
    for f in range(5):
        pos = np.tile(FINGER_BASES[f], (T, 1))
        rot = Rotation.identity(T)
        points = []
        for seg in range(4):
            if seg < 3:
                r = Rotation.from_rotvec(np.outer(flex[:, f] * (1.0 - 0.2 * seg), [1.0, 0.0, 0.0]))
                rotmat[:, 1 + 3 * f + seg] = r.as_matrix()
                rot = rot * r
            pos = pos + rot.apply(np.array([0.0, -SEGMENTS[f, seg], 0.0]))
            points.append(pos)
        joints_local[:, 1 + 3 * f: 4 + 3 * f] = np.stack(points[:3], axis=1)
        joints_local[:, 16 + f] = points[3]
    joints = np.einsum("tij,tkj->tki", glob.as_matrix(), joints_local) + transl[:, None, :]
    return {"joints_cam_m": joints, "mano_transl_m": transl, "mano_rotmat": rotmat}


def make_sequence(seed: int = 0) -> tuple[np.ndarray, dict, dict]:
    """Stamps (T,) int ns, truth dict and noisy dict at those stamps."""
    rng = np.random.default_rng(seed)
    n = int(DURATION_S * FPS)
    t = np.arange(n) / FPS + rng.normal(0.0, 0.002, n)
    keep = rng.random(n) > 0.05
    keep[0] = True
    t = np.sort(t[keep])
    gt = truth(t)
    gt["mano_betas"] = np.tile(np.linspace(-1.0, 1.0, 10), (len(t), 1))
    noisy = {
        "joints_cam_m": gt["joints_cam_m"] + rng.normal(0.0, 0.004, gt["joints_cam_m"].shape),
        "mano_transl_m": gt["mano_transl_m"] + rng.normal(0.0, 1.0, (len(t), 3)) * [0.004, 0.004, 0.010],
        "mano_betas": gt["mano_betas"] + rng.normal(0.0, 0.05, (len(t), 10)),
    }
    noise_rot = Rotation.from_rotvec(rng.normal(0.0, np.deg2rad(1.5), (len(t) * 16, 3)))
    noisy["mano_rotmat"] = (Rotation.from_matrix(gt["mano_rotmat"].reshape(-1, 3, 3)) * noise_rot).as_matrix()
    noisy["mano_rotmat"] = noisy["mano_rotmat"].reshape(len(t), 16, 3, 3)
    return np.round(t * 1e9).astype(np.int64), gt, noisy


def run_smoother(stamps_ns: np.ndarray, noisy: dict, config: SmoothingConfig) -> dict:
    """The noisy sequence through one HandSmoother, frame by frame as HandEstimates; the same keys back."""
    smoother = HandSmoother(config)
    outs = []
    for i, s in enumerate(stamps_ns):
        aa = Rotation.from_matrix(noisy["mano_rotmat"][i]).as_rotvec()
        est = HandEstimate(
            is_right=True, global_orient_aa=aa[0], hand_pose_aa=aa[1:].reshape(45),
            betas=noisy["mano_betas"][i], transl_m=noisy["mano_transl_m"][i],
            joints_m=noisy["joints_cam_m"][i], keypoints_px=np.zeros((21, 2)), box_xyxy_px=np.zeros(4),
            crop_xyxy_px=np.zeros(4), confidence=1.0, grasp_prob=np.zeros(9),
        )
        o = smoother.smooth(int(s), est)
        rot = Rotation.from_rotvec(np.concatenate([o.global_orient_aa, o.hand_pose_aa]).reshape(16, 3))
        outs.append({"joints_cam_m": o.joints_m, "mano_transl_m": o.transl_m, "mano_betas": o.betas,
                     "mano_rotmat": rot.as_matrix()})
    return {k: np.stack([o[k] for o in outs]) for k in noisy}


def mean_abs_acceleration(x: np.ndarray, t_s: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean norm of the second derivative over the last axis (x (T, ..., 3)), non-uniform stamps; over the
    frames where ``mask`` (T,) is True when given."""
    v = np.diff(x, axis=0) / np.diff(t_s).reshape(-1, *([1] * (x.ndim - 1)))
    dt2 = 0.5 * (t_s[2:] - t_s[:-2]).reshape(-1, *([1] * (x.ndim - 1)))
    a = np.linalg.norm(np.diff(v, axis=0) / dt2, axis=-1)
    return float(np.mean(a if mask is None else a[mask[1:-1]]))


def best_shift_ms(
    est: np.ndarray, t_s: np.ndarray, key: str, shifts_ms: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """The tau (ms) minimising the RMS of est(t) - truth(t - tau) (over ``mask`` when given); positive =
    est lags behind truth."""
    if mask is not None:
        est, t_s = est[mask], t_s[mask]
    errs = []
    for tau in shifts_ms:
        tr = truth(t_s - tau / 1000.0)[key]
        if key == "mano_rotmat":
            rel = Rotation.from_matrix(tr[:, 0]).inv() * Rotation.from_matrix(est[:, 0])
            errs.append(np.mean(rel.magnitude() ** 2))
        else:
            errs.append(np.mean((est - tr) ** 2))
    errs = np.array(errs)
    i = int(np.argmin(errs))
    if 0 < i < len(errs) - 1:  # parabolic refinement between grid points
        den = errs[i - 1] - 2 * errs[i] + errs[i + 1]
        if den > 0:
            step = shifts_ms[1] - shifts_ms[0]
            return float(shifts_ms[i] + 0.5 * (errs[i - 1] - errs[i + 1]) / den * step)
    return float(shifts_ms[i])


def rot_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    rel = Rotation.from_matrix(a.reshape(-1, 3, 3)).inv() * Rotation.from_matrix(b.reshape(-1, 3, 3))
    return float(np.rad2deg(np.mean(rel.magnitude())))


def max_step_deg(rotmat: np.ndarray) -> float:
    """Largest frame-to-frame geodesic step (deg) of a (T, 3, 3) sequence."""
    r = Rotation.from_matrix(rotmat)
    return float(np.rad2deg(np.max((r[:-1].inv() * r[1:]).magnitude())))


def evaluate(stamps_ns: np.ndarray, gt: dict, noisy: dict, config: SmoothingConfig) -> dict:
    t_s = stamps_ns / 1e9
    tic = time.perf_counter()
    sm = run_smoother(stamps_ns, noisy, config)
    per_frame_ms = 1000.0 * (time.perf_counter() - tic) / len(t_s)
    j, tk = "joints_cam_m", "mano_transl_m"
    jit = {name: 1000.0 * mean_abs_acceleration(x, t_s) for name, x in (("truth", gt[j]), ("raw", noisy[j]),
                                                                          ("smoothed", sm[j]))}
    noise_jit = {name: 1000.0 * mean_abs_acceleration(x - gt[j], t_s) for name, x in (("raw", noisy[j]),
                                                                                     ("smoothed", sm[j]))}
    shifts = np.arange(-20.0, 81.0, 2.0)
    rg, rr, rs = gt["mano_rotmat"][:, 0], noisy["mano_rotmat"][:, 0], sm["mano_rotmat"][:, 0]
    rot_jit = {name: float(np.rad2deg(mean_abs_acceleration(_unwrapped_rotvec(x), t_s)))
               for name, x in (("truth", rg), ("raw", rr), ("smoothed", rs))}
    fast = fast_mask(t_s)
    per_segment = {}
    for name, m in (("slow", ~fast), ("fast", fast)):
        raw_j, sm_j = (1000.0 * mean_abs_acceleration(x, t_s, m) for x in (noisy[j], sm[j]))
        per_segment[name] = {
            "frames": int(m.sum()),
            "joint_jitter_mm_s2": {"raw": raw_j, "smoothed": sm_j, "ratio": raw_j / sm_j},
            "joint_lag_ms": best_shift_ms(sm[j], t_s, j, shifts, m),
        }
    return {
        "frames": len(t_s),
        "per_segment": per_segment,
        "joint_jitter_mm_s2": jit,
        "joint_jitter_ratio_raw_over_smoothed": jit["raw"] / jit["smoothed"],
        "joint_noise_jitter_mm_s2": noise_jit,
        "joint_noise_jitter_ratio": noise_jit["raw"] / noise_jit["smoothed"],
        "joint_lag_ms": {"raw": best_shift_ms(noisy[j], t_s, j, shifts),
                         "smoothed": best_shift_ms(sm[j], t_s, j, shifts)},
        "joint_error_mm": {"raw": _mean_dist_mm(noisy[j], gt[j]),
                           "smoothed": _mean_dist_mm(sm[j], gt[j])},
        "transl_error_mm": {"raw": _mean_dist_mm(noisy[tk], gt[tk]),
                            "smoothed": _mean_dist_mm(sm[tk], gt[tk])},
        "global_rot_jitter_deg_s2": rot_jit,
        "global_rot_jitter_ratio": rot_jit["raw"] / rot_jit["smoothed"],
        "global_rot_lag_ms": {"raw": best_shift_ms(rr[:, None], t_s, "mano_rotmat", shifts),
                              "smoothed": best_shift_ms(rs[:, None], t_s, "mano_rotmat", shifts)},
        "rot_error_deg": {"raw": rot_error_deg(noisy["mano_rotmat"], gt["mano_rotmat"]),
                          "smoothed": rot_error_deg(sm["mano_rotmat"], gt["mano_rotmat"])},
        "global_rot_max_step_deg": {"truth": max_step_deg(rg), "raw": max_step_deg(rr),
                                    "smoothed": max_step_deg(rs)},
        "smoothed_rotations_valid": bool(_valid_rotations(sm["mano_rotmat"])),
        "smoother_ms_per_frame": per_frame_ms,
        "config": config.to_dict(),
        "_series": (t_s, gt, noisy, sm),
    }


def _mean_dist_mm(a: np.ndarray, b: np.ndarray) -> float:
    return 1000.0 * float(np.mean(np.linalg.norm(a - b, axis=-1)))


def _unwrapped_rotvec(rotmat: np.ndarray) -> np.ndarray:
    """(T, 3) rotation vectors made continuous in time (each frame's equivalent rotvec nearest the last)."""
    rv = Rotation.from_matrix(rotmat).as_rotvec()
    for i in range(1, len(rv)):
        ang = np.linalg.norm(rv[i])
        if ang > 1e-9:
            axis = rv[i] / ang
            cands = [axis * (ang + 2 * np.pi * k) for k in (-1, 0, 1)]
            rv[i] = min(cands, key=lambda c: np.linalg.norm(c - rv[i - 1]))
    return rv


def _valid_rotations(rotmat: np.ndarray) -> bool:
    r = rotmat.reshape(-1, 3, 3)
    ortho = np.abs(np.einsum("nij,nkj->nik", r, r) - np.eye(3)).max()
    return ortho < 1e-9 and np.allclose(np.linalg.det(r), 1.0, atol=1e-9)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_s, gt, noisy, sm = result["_series"]
    joint, axis = 17, 0  # index fingertip, x
    fig, axes = plt.subplots(2, 1, figsize=(11, 7))
    for ax, (lo, hi) in zip(axes, ((0.0, DURATION_S), (4.5, 7.0)), strict=True):
        m = (t_s >= lo) & (t_s <= hi)
        ax.plot(t_s[m], 1000 * noisy["joints_cam_m"][m, joint, axis], ".", ms=3, color="0.6", label="raw")
        ax.plot(t_s[m], 1000 * gt["joints_cam_m"][m, joint, axis], "-", color="k", lw=1.2, label="truth")
        ax.plot(t_s[m], 1000 * sm["joints_cam_m"][m, joint, axis], "-", color="tab:red", lw=1.2,
                label="smoothed")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("index tip x (mm, camera frame)")
    axes[0].legend(loc="upper right")
    jit, ratio = result["joint_jitter_mm_s2"], result["joint_jitter_ratio_raw_over_smoothed"]
    lag = result["joint_lag_ms"]["smoothed"]
    axes[0].set_title(f"One Euro: joint jitter {jit['raw']:.0f} -> {jit['smoothed']:.0f} mm/s^2 "
                      f"(x{ratio:.1f}), lag {lag:.1f} ms")
    axes[1].set_title("zoom on a fast segment")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tune(stamps_ns: np.ndarray, gt: dict, noisy: dict) -> SmoothingConfig:
    """Grid over the joints' and rotations' (min_cutoff, beta): lowest error with lag <= 33 ms and
    jitter ratio >= 3, printed as it goes."""
    best, best_err = None, np.inf
    for mc in (0.5, 1.0, 2.0):
        for beta in (5.0, 10.0, 20.0, 40.0):
            cfg = SmoothingConfig(joints=OneEuroParams(mc, beta, 1.0), transl=OneEuroParams(mc, beta, 1.0))
            r = evaluate(stamps_ns, gt, noisy, cfg)
            ratio = r["joint_jitter_ratio_raw_over_smoothed"]
            ok = r["joint_lag_ms"]["smoothed"] <= 33.0 and ratio >= 3.0
            print(f"joints mc={mc} beta={beta}: ratio {ratio:.2f} "
                  f"lag {r['joint_lag_ms']['smoothed']:.1f} ms "
                  f"err {r['joint_error_mm']['smoothed']:.2f} mm {ok}")
            if ok and r["joint_error_mm"]["smoothed"] < best_err:
                best, best_err = (mc, beta), r["joint_error_mm"]["smoothed"]
    rbest, rbest_err = None, np.inf
    for mc in (0.5, 1.0, 2.0):
        for beta in (1.0, 2.0, 4.0, 8.0):
            cfg = SmoothingConfig(global_orient=OneEuroParams(mc, beta, 1.0),
                                  finger_rotations=OneEuroParams(mc, beta, 1.0))
            r = evaluate(stamps_ns, gt, noisy, cfg)
            ok = r["global_rot_lag_ms"]["smoothed"] <= 33.0 and r["global_rot_jitter_ratio"] >= 3.0
            print(f"rotations mc={mc} beta={beta}: ratio {r['global_rot_jitter_ratio']:.2f} "
                  f"lag {r['global_rot_lag_ms']['smoothed']:.1f} ms "
                  f"err {r['rot_error_deg']['smoothed']:.2f} deg {ok}")
            if ok and r["rot_error_deg"]["smoothed"] < rbest_err:
                rbest, rbest_err = (mc, beta), r["rot_error_deg"]["smoothed"]
    print("best joints (min_cutoff, beta):", best, "best rotations:", rbest)
    cfg = SmoothingConfig()
    if best:
        cfg = dataclasses.replace(cfg, joints=OneEuroParams(best[0], best[1], 1.0),
                                  transl=OneEuroParams(best[0], best[1], 1.0))
    if rbest:
        cfg = dataclasses.replace(cfg, global_orient=OneEuroParams(rbest[0], rbest[1], 1.0),
                                  finger_rotations=OneEuroParams(rbest[0], rbest[1], 1.0))
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder for the PNG plot")
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tune", action="store_true", help="grid-search the joints/rotation parameters first")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stamps_ns, gt, noisy = make_sequence(args.seed)
    cfg = tune(stamps_ns, gt, noisy) if args.tune else SmoothingConfig()
    result = evaluate(stamps_ns, gt, noisy, cfg)
    plot(result, args.out / "smoothing_joint.png")
    report = {k: v for k, v in result.items() if not k.startswith("_")}
    ratio = report["joint_jitter_ratio_raw_over_smoothed"]
    report["target_met"] = bool(ratio >= 3.0
                                and report["joint_lag_ms"]["smoothed"] - report["joint_lag_ms"]["raw"]
                                <= 33.0)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
