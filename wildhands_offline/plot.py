"""A PNG of one exported episode (matplotlib, no display): wrist trajectory (x, y, z over time and seen from
above), pinch aperture and confidence over time, LEFT and RIGHT hands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wildhands_core.stamps import NS_PER_S

SIDE_NAMES = ("left", "right")
SIDE_COLOURS = ("tab:orange", "tab:blue")


def plot_episode(path: str | Path, title: str, stamps_ns: np.ndarray, wrist_pose: np.ndarray,
                 aperture_m: np.ndarray, confidence: np.ndarray, frame: str) -> Path:
    """``wrist_pose`` (F, 2, 7) (x, y, z metres in ``frame``, quaternion), ``aperture_m`` and
    ``confidence`` (F, 2), NaN where the hand is absent (gaps in the curves)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_s = (np.asarray(stamps_ns, np.int64) - int(stamps_ns[0])) / NS_PER_S if len(stamps_ns) else np.zeros(0)
    fig, ax = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    for s, (name, c) in enumerate(zip(SIDE_NAMES, SIDE_COLOURS, strict=True)):
        for k, ls in zip(range(3), ("-", "--", ":"), strict=True):
            ax[0, 0].plot(t_s, wrist_pose[:, s, k], ls, color=c, label=f"{name} {'xyz'[k]}")
        ax[0, 1].plot(wrist_pose[:, s, 0], wrist_pose[:, s, 1], ".-", color=c, ms=2, label=name)
        ax[1, 0].plot(t_s, aperture_m[:, s] * 100.0, color=c, label=name)
        ax[1, 1].plot(t_s, confidence[:, s], color=c, label=name)
    ax[0, 0].set(title=f"wrist position ({frame})", xlabel="time (s)", ylabel="m")
    ax[0, 1].set(title="wrist trajectory, x-y plane", xlabel="x (m)", ylabel="y (m)")
    ax[0, 1].set_aspect("equal", adjustable="datalim")
    ax[1, 0].set(title="pinch aperture (thumb tip - index tip)", xlabel="time (s)", ylabel="cm")
    ax[1, 1].set(title="confidence", xlabel="time (s)", ylim=(0, 1.05))
    for a in ax.flat:
        a.grid(alpha=0.3)
        a.legend(fontsize=7, loc="best")
    fig.suptitle(title)
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = ["plot_episode"]
