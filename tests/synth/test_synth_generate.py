"""Tests of wildhands_synth.generate, the on-disk format, the CLI and the SyntheticHandsDataset adapter."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from training.datasets.synthetic import SyntheticHandsDataset
from wildhands_core.camera import project_points
from wildhands_synth.cli import main as synth_main
from wildhands_synth.generate import generate_dataset, generate_frame, render_scene
from wildhands_synth.hands import HandModel, load_hand_models
from wildhands_synth.poses import FAMILIES
from wildhands_synth.scene import PALM_JOINTS, FrameSpec, HandSpec

SIZE = (160, 120)
N_FRAMES = 30


@pytest.fixture(scope="module")
def models() -> dict[bool, HandModel]:
    return load_hand_models()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "ds"
    return generate_dataset(out, N_FRAMES, seed=11, size=SIZE, progress=False)


@pytest.fixture(scope="module")
def labels(dataset_dir: Path) -> dict[str, np.ndarray]:
    with np.load(dataset_dir / "labels.npz") as npz:
        return {k: npz[k] for k in npz.files}


def test_the_same_seed_gives_byte_identical_labels_and_images(tmp_path: Path, dataset_dir: Path) -> None:
    again = generate_dataset(tmp_path / "again", 6, seed=11, size=SIZE, progress=False)
    with np.load(again / "labels.npz") as a, np.load(dataset_dir / "labels.npz") as b:
        for key in a.files:
            assert a[key].tobytes() == b[key][:6].tobytes(), key  # a shorter run is a prefix
    for i in range(6):
        for sub, ext in (("images", "jpg"), ("masks", "png")):
            name = f"{sub}/{i:06d}.{ext}"
            assert (again / name).read_bytes() == (dataset_dir / name).read_bytes(), name
    other = generate_dataset(tmp_path / "other", 2, seed=12, size=SIZE, progress=False)
    assert (other / "images/000000.jpg").read_bytes() != (dataset_dir / "images/000000.jpg").read_bytes()


def test_meta_describes_the_dataset(dataset_dir: Path) -> None:
    meta = json.loads((dataset_dir / "meta.json").read_text())
    assert meta["format"] == "wildhands-synth" and meta["version"] == 2
    assert meta["mask_values"] == {"background": 0, "right": 1, "left": 2, "occluder": 3}
    assert (meta["count"], meta["width"], meta["height"], meta["seed"]) == (N_FRAMES, *SIZE, 11)
    assert meta["family_grasp_labels"] == [f.grasp_label for f in FAMILIES]
    img = cv2.imread(str(dataset_dir / "images/000000.jpg"))
    assert img.shape == (SIZE[1], SIZE[0], 3)


def test_keypoints_are_the_projection_of_the_joints(labels: dict[str, np.ndarray]) -> None:
    for i in range(N_FRAMES):
        for s in range(2):
            if labels["in_scene"][i, s]:
                kp = project_points(labels["joints_cam_m"][i, s], labels["K_px"][i])
                assert np.abs(kp - labels["keypoints_px"][i, s]).max() <= 1e-4


def test_joints_are_mano_joints_plus_translation(labels: dict[str, np.ndarray], models) -> None:
    for i in range(4):
        for s, is_right in ((0, True), (1, False)):
            if not labels["in_scene"][i, s]:
                continue
            out = models[is_right].layer.forward_aa(
                torch.tensor(labels["pose_aa"][i, s][None], dtype=torch.float32),
                torch.tensor(labels["betas"][i, s][None], dtype=torch.float32),
            )
            joints = out["joints"][0].double().numpy() + labels["transl_m"][i, s]
            assert np.abs(joints - labels["joints_cam_m"][i, s]).max() < 1e-5


def test_masks_boxes_and_visible_keypoints_agree(dataset_dir: Path, labels: dict[str, np.ndarray]) -> None:
    n_visible = 0
    for i in range(N_FRAMES):
        mask = cv2.imread(str(dataset_dir / f"masks/{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(mask)) <= {0, 1, 2, 3}
        for s, value in ((0, 1), (1, 2)):
            n_px = int((mask == value).sum())
            assert n_px == labels["mask_pixels"][i, s]
            if labels["present"][i, s]:
                assert n_px >= 20
                x0, y0, x1, y1 = labels["box_xyxy_px"][i, s]
                ys, xs = np.nonzero(mask == value)
                assert (x0, y0, x1, y1) == (xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5)
                vis = labels["keypoints_visible"][i, s]
                kp = labels["keypoints_px"][i, s][vis]
                n_visible += int(vis.sum())
                assert np.all((kp[:, 0] >= x0) & (kp[:, 0] <= x1) & (kp[:, 1] >= y0) & (kp[:, 1] <= y1))
                u, v = np.floor(kp + 0.5).astype(int).T
                assert np.all(mask[v, u] == value)  # a visible keypoint lies on its own hand
                ax0, ay0, ax1, ay1 = labels["box_amodal_xyxy_px"][i, s]
                assert ax0 <= x0 + 0.5 and ay0 <= y0 + 0.5 and ax1 >= x1 - 0.5 and ay1 >= y1 - 0.5
                assert labels["grasp_label"][i, s] == FAMILIES[labels["family"][i, s]].grasp_label
            elif not labels["in_scene"][i, s]:
                assert n_px == 0 and labels["grasp_label"][i, s] == -1
    assert n_visible > 0.3 * 21 * labels["present"].sum()


def test_both_hands_are_present_in_most_frames_at_egocentric_depths(labels: dict[str, np.ndarray]) -> None:
    both = labels["present"].all(axis=1)
    assert both.mean() >= 0.6
    assert labels["present"].any(axis=1).mean() >= 0.9
    inside = labels["in_scene"]
    palm = labels["joints_cam_m"][:, :, list(PALM_JOINTS)].mean(axis=2)  # (N, 2, 3)
    assert np.all((palm[..., 2][inside] >= 0.2) & (palm[..., 2][inside] <= 0.7))
    assert labels["joints_cam_m"][inside][..., 2].min() > 0.1
    # hands sit in the lower half of the image
    v = np.einsum("nij,nsj->nsi", labels["K_px"], palm)
    assert np.all(v[..., 1][inside] / v[..., 2][inside] >= 0.45 * SIZE[1])


def test_intrinsics_span_narrow_to_wide_lenses(models) -> None:
    fx = np.array([generate_frame(3, i, *SIZE, models).labels["K_px"][0, 0] for i in range(12)])
    hfov = np.degrees(2 * np.arctan(SIZE[0] / 2 / fx))
    assert hfov.min() >= 60.0 - 1e-6 and hfov.max() <= 120.0 + 1e-6
    assert hfov.max() - hfov.min() > 20.0


def _spec(hands: list[HandSpec]) -> FrameSpec:
    K = np.array([[150.0, 0.0, 80.0], [0.0, 150.0, 60.0], [0.0, 0.0, 1.0]])
    return FrameSpec(160, 120, K, hands, np.array([0.0, -0.6, -0.8]), 0.4, "gradient", 5)


def test_a_hand_in_front_hides_the_hand_behind_it(models) -> None:
    rot = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # -90 deg about the optical axis
    art = np.zeros(20)
    right = HandSpec(True, art, 0, np.zeros(10), rot, np.array([0.0, 0.0, 0.30]), np.array([0.8, 0.6, 0.5]))
    left = HandSpec(False, art, 0, np.zeros(10), rot, np.array([0.0, 0.0, 0.45]), np.array([0.8, 0.6, 0.5]))

    def render(hands: list[HandSpec]) -> np.ndarray:
        posed = [models[h.is_right].pose(h.articulation[None], h.global_rotmat[None], h.betas[None],
                                         h.palm_centre_cam_m[None]) for h in hands]
        return render_scene(_spec(hands), posed, models, np.random.default_rng(0)).labels["mask_pixels"]

    alone_right, alone_left = render([right])[0], render([left])[1]
    both = render([right, left])
    assert alone_right > 500 and alone_left > 300
    assert both[0] == alone_right  # the front hand is untouched
    assert both[1] < 0.5 * alone_left  # most of the hand behind is hidden


def test_cli_writes_a_dataset_the_adapter_reads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cli"
    assert synth_main(["--out", str(out), "--frames", "3", "--seed", "2", "--size", "96x72"]) == 0
    assert "wrote 3 frames" in capsys.readouterr().out
    ds = SyntheticHandsDataset(out)
    with np.load(out / "labels.npz") as npz:
        assert len(ds) == int(npz["present"].sum())
    sample = ds[0]
    assert sample.image.shape == (72, 96, 3) and sample.image.dtype == np.uint8
    assert sample.has_joints3d and sample.has_keypoints2d and sample.has_mano and sample.has_mask
    assert sample.has_grasp and sample.mask.shape == (72, 96) and set(np.unique(sample.mask)) <= {0, 1}
    assert sample.mask.sum() > 0 and sample.keypoints_valid.dtype == bool
    assert sample.joints_cam_m.shape == (21, 3) and sample.mano_pose_aa.shape == (48,)


def test_adapter_yields_one_sample_per_present_hand_right_first(dataset_dir: Path, labels) -> None:
    ds = SyntheticHandsDataset(dataset_dir)
    assert len(ds) == int(labels["present"].sum())
    first = int(np.argmax(labels["present"].all(axis=1)))  # a frame with both hands
    before = int(labels["present"][:first].sum())
    r, l = ds[before], ds[before + 1]
    assert r.is_right and not l.is_right and r.frame_id == l.frame_id == f"{first:06d}"
    assert np.allclose(r.keypoints_px, labels["keypoints_px"][first, 0], atol=1e-3)
    assert r.mask.sum() == labels["mask_pixels"][first, 0]


def test_cli_sequence_mode_writes_smooth_frames(tmp_path: Path) -> None:
    out = tmp_path / "seq"
    argv = ["--out", str(out), "--frames", "4", "--seed", "1", "--size", "96x72", "--sequence"]
    assert synth_main(argv) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sequence"] is True and meta["fps"] == 30.0
    with np.load(out / "labels.npz") as npz:
        assert npz["present"].shape == (4, 2)
        jumps = np.linalg.norm(np.diff(npz["joints_cam_m"], axis=0), axis=-1)
        assert jumps.max() < 0.03


def test_cli_several_sequences_write_every_strided_frame_of_each_seed_in_order(tmp_path: Path) -> None:
    from wildhands_synth.sequence import SyntheticSequence

    out = tmp_path / "seqs"
    argv = ["--out", str(out), "--frames", "2", "--seed", "5", "--size", "96x72", "--sequence",
            "--sequences", "2", "--stride", "9"]
    assert synth_main(argv) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sequence"] is False and meta["sequence_seeds"] == [5, 6] and meta["sequence_stride"] == 9
    assert meta["frames_per_sequence"] == 2 and meta["count"] == 4
    with np.load(out / "labels.npz") as npz:
        joints = npz["joints_cam_m"]
    assert joints.shape[0] == 4 and len(list((out / "images").iterdir())) == 4
    # frame 2 of the file is frame 0 of seed 6, frame 3 its frame 9 (rendered directly)
    for row, (seed, index) in enumerate([(5, 0), (5, 9), (6, 0), (6, 9)]):
        want = SyntheticSequence(seed, (96, 72), threads=1).frame(index).labels["joints_cam_m"]
        np.testing.assert_allclose(joints[row], want, atol=1e-9)
    assert synth_main(argv[:-1] + ["0"]) == 2


def test_two_worker_processes_write_the_same_bytes(tmp_path: Path, dataset_dir: Path) -> None:
    par = generate_dataset(tmp_path / "par", 6, seed=11, size=SIZE, workers=2, progress=False)
    with np.load(par / "labels.npz") as a, np.load(dataset_dir / "labels.npz") as b:
        for key in a.files:
            assert a[key].tobytes() == b[key][:6].tobytes(), key
    assert (par / "images/000005.jpg").read_bytes() == (dataset_dir / "images/000005.jpg").read_bytes()
