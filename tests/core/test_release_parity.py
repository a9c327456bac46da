"""Release parity, from the facts of ``shared/reference/README.md``: the head's estimate order, the release's
axis-angle before MANO, border crops, the whole-image convention, safe loading of real Lightning files and
the MANO model a released checkpoint carries."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from wildhands_core.camera import Letterbox
from wildhands_core.checkpoint import load_any_checkpoint, load_released_checkpoint
from wildhands_core.cli.inspect import main as inspect_main
from wildhands_core.config import ModelConfig
from wildhands_core.constants import FINGERTIP_VERTEX_IDS
from wildhands_core.estimate import HandBox
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.mano.layer import MANO_DIR_ENV, ManoLayer, load_mano_pair, resolve_mano_dir
from wildhands_core.model import WildHandsNet
from wildhands_core.model.hmr_head import HMRLayer
from wildhands_core.model.wildhands import WildHands
from wildhands_core.preprocess import crop_and_kpe_boxes, cut_crops, whole_image_224
from wildhands_core.rotations import (
    rotmat_to_axis_angle,
    rotmat_to_axis_angle_release,
    rotmat_to_axis_angle_release_numpy,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
# a real format-1 file: the demo checkpoint v1 as it was shipped until issue 25 (trained with format 1)
DEMO_CKPT = ROOT / "tests" / "core" / "data" / "wildhands_demo_v1_format1.pt"
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "official_state_dict.tsv").exists(), reason="shared/reference not available"
)
FEAT = 2  # feature width of the hand-set refine layer
POSE, SHAPE, CAM = 96, 10, 3  # estimate part sizes (reference: pose_6d 96, shape 10, cam_t/wp 3)
TIP_ORDER = ("thumb", "index", "middle", "ring", "pinky")  # reference: joints 16-20


def small_cfg(**kw) -> ModelConfig:
    return ModelConfig(backbone="resnet18", conv_dims=(16, 8, 8), fc_dim=16, head_hidden=16,
                       cam_init_hidden=8, grasp_hidden=(8, 8), **kw)


# --- 1. the estimate order -----------------------------------------------------------------------------
def test_refine_reads_the_estimate_as_pose_then_shape_then_cam() -> None:
    """One refine step with hand-set weights: hidden unit 0 reads input column FEAT + 96 + 10 (the
    release's place of the camera scale s), unit 1 reads column FEAT + 96 (the release's place of beta_0);
    the shape decoder adds unit 0 to beta_0 and the camera decoder adds unit 1 to s."""
    layer = HMRLayer(FEAT, hidden=4, dropout=0.0).eval()
    with torch.no_grad():
        for p in layer.parameters():
            p.zero_()
        layer.refine[0].weight[0, FEAT + POSE + SHAPE] = 1.0
        layer.refine[0].weight[1, FEAT + POSE] = 1.0
        layer.refine[3].weight[0, 0] = 1.0
        layer.refine[3].weight[1, 1] = 1.0
        layer.decoders["shape"].weight[0, 0] = 1.0
        layer.decoders["cam_t/wp"].weight[0, 1] = 1.0
    init = {
        "pose_6d": torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(16)[None],
        "shape": torch.tensor([[0.3] + [0.0] * 9]),
        "cam_t/wp": torch.tensor([[0.5, 0.1, 0.2]]),
    }
    est = layer(torch.zeros(1, FEAT), init, iterations=1)[-1]
    assert est["shape"][0, 0].item() == pytest.approx(0.3 + 0.5)  # beta_0 + s
    assert est["cam_t/wp"][0, 0].item() == pytest.approx(0.5 + 0.3)  # s + beta_0
    assert est["cam_t/wp"][0, 1:].tolist() == pytest.approx([0.1, 0.2])


def _head_in_v1_order(sd: dict[str, torch.Tensor], head: str, feat: torch.Tensor, iterations: int = 3):
    """The project's format-1 head written out by hand: estimate concatenated as pose_6d, cam, shape."""
    def lin(x, name):
        return x @ sd[f"{head}.{name}.weight"].T + sd[f"{head}.{name}.bias"]

    n = feat.shape[0]
    cam = lin(torch.relu(lin(torch.relu(lin(feat, "cam_init.0")), "cam_init.2")), "cam_init.4")
    pose = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(16).expand(n, -1)
    shape = torch.zeros(n, SHAPE)
    for _ in range(iterations):
        x = torch.cat([feat, pose, cam, shape], dim=1)
        x = torch.relu(lin(torch.relu(lin(x, "hmr_layer.refine.0")), "hmr_layer.refine.3"))
        pose = pose + lin(x, "hmr_layer.decoders.pose_6d")
        cam = cam + lin(x, "hmr_layer.decoders.cam_t/wp")
        shape = shape + lin(x, "hmr_layer.decoders.shape")
    return pose, shape, cam


@pytest.mark.skipif(not DEMO_CKPT.exists(), reason="demo checkpoint not in this checkout")
def test_the_format_1_demo_checkpoint_computes_what_it_was_trained_as() -> None:
    raw = torch.load(DEMO_CKPT, weights_only=True)
    assert raw["version"] == 1
    net, cfg, meta = load_any_checkpoint(DEMO_CKPT)
    assert meta["version"] == 1 and cfg.input_convention == "wildhands_v1"
    feat = torch.randn(5, cfg.fc_dim, generator=torch.Generator().manual_seed(1))
    for head in ("head_r", "head_l"):
        pose, shape, cam = _head_in_v1_order(raw["state_dict"], head, feat, cfg.iterations)
        with torch.no_grad():
            out = getattr(net, head)(feat)
        torch.testing.assert_close(out["rot_6d"].reshape(5, -1), pose, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out["betas"], shape, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out["cam_wp"], cam, rtol=1e-5, atol=1e-5)


def test_a_version_1_file_gets_its_refine_columns_permuted(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = small_cfg()
    sd = WildHandsNet(cfg).state_dict()
    f = cfg.fc_dim
    v1 = dict(sd)
    for head in ("head_r", "head_l"):
        w = sd[f"{head}.hmr_layer.refine.0.weight"]
        # format 1 held (feat, pose, cam, shape) where the release holds (feat, pose, shape, cam)
        v1[f"{head}.hmr_layer.refine.0.weight"] = torch.cat(
            [w[:, : f + POSE], w[:, f + POSE + SHAPE:], w[:, f + POSE: f + POSE + SHAPE]], dim=1)
    model_config = {k: v for k, v in cfg.to_dict().items() if k != "input_convention"}
    path = tmp_path / "v1.pt"
    torch.save({"format": "wildhands", "version": 1, "model_config": model_config, "state_dict": v1}, path)
    net, cfg1, meta = load_any_checkpoint(path)
    assert meta["version"] == 1 and cfg1.input_convention == "wildhands_v1"
    for k, v in sd.items():
        torch.testing.assert_close(net.state_dict()[k], v)


# --- 2. the release's axis-angle ------------------------------------------------------------------------
def _release_torch(m: np.ndarray) -> np.ndarray:
    return rotmat_to_axis_angle_release(torch.from_numpy(np.asarray(m, np.float64))).numpy()


#: The graph's (torch) and the smoother's (scipy + NumPy) forms of the release mapping.
RELEASE_MAPPINGS = pytest.mark.parametrize(
    "release_aa", [_release_torch, rotmat_to_axis_angle_release_numpy], ids=["torch", "numpy"]
)


@RELEASE_MAPPINGS
def test_a_120_degree_rotation_takes_the_release_branch(release_aa) -> None:
    """120 deg about -x: quaternion candidate x = sqrt(3)/2 is kept (1 + m00 - m11 - m22 = 3 is the largest)
    and w = (m21 - m12) / (2 sqrt 3) = -1/2, so the release gives angle 2 atan2(sqrt(3)/2, -1/2) = 240 deg
    about +x, where the sign-standardised form is 120 deg about -x."""
    R = Rotation.from_rotvec([-2 * math.pi / 3, 0.0, 0.0]).as_matrix()
    assert release_aa(R).tolist() == pytest.approx([4 * math.pi / 3, 0.0, 0.0], abs=1e-9)
    assert rotmat_to_axis_angle(torch.from_numpy(R)).tolist() == pytest.approx([-2 * math.pi / 3, 0.0, 0.0],
                                                                                abs=1e-9)
    # 60 deg: the w candidate (1 + trace = 3) is kept, w > 0, both forms agree
    R60 = Rotation.from_rotvec([0.0, math.pi / 3, 0.0]).as_matrix()
    assert release_aa(R60).tolist() == pytest.approx([0.0, math.pi / 3, 0.0], abs=1e-9)
    # identity: angle 0 (the small-angle branch)
    assert release_aa(np.eye(3)).tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)


@RELEASE_MAPPINGS
def test_release_axis_angles_are_the_same_rotations_with_angles_below_two_pi(release_aa) -> None:
    R = Rotation.random(2000, random_state=3)
    aa = release_aa(R.as_matrix())
    angle = np.linalg.norm(aa, axis=1)
    assert aa.shape == (2000, 3) and np.all(angle < 2 * math.pi) and np.any(angle > math.pi)
    np.testing.assert_allclose(Rotation.from_rotvec(aa).as_matrix(), R.as_matrix(), atol=1e-9)


def test_the_numpy_release_mapping_takes_the_same_branch_as_the_graphs() -> None:
    """Same axis-angle (not only the same rotation) for random rotations, angles near 0 and pi, and a
    batch shape of (4, 500)."""
    axes = Rotation.random(500, random_state=5).apply([1.0, 0.0, 0.0])
    near = np.concatenate([axes * (math.pi - 1e-6), axes * 1e-7, axes * 3.0])
    m = np.concatenate([Rotation.random(500, random_state=6).as_matrix(),
                        Rotation.from_rotvec(near).as_matrix()])
    m = m.reshape(4, 500, 3, 3)
    np.testing.assert_allclose(rotmat_to_axis_angle_release_numpy(m), _release_torch(m), atol=1e-9)


def test_mano_is_fed_the_release_axis_angle() -> None:
    layer = ManoLayer("right").double()
    rotmat = torch.eye(3, dtype=torch.float64).repeat(1, 16, 1, 1)
    rotmat[0, 1] = torch.from_numpy(Rotation.from_rotvec([-2 * math.pi / 3, 0.0, 0.0]).as_matrix())
    betas = torch.zeros(1, 10, dtype=torch.float64)
    ours = layer(rotmat, betas)["joints"]

    def smplx_joints(index1_aa):
        hand_pose = torch.zeros(1, 45, dtype=torch.float64)
        hand_pose[0, :3] = torch.tensor(index1_aa, dtype=torch.float64)
        zero = torch.zeros(1, 3, dtype=torch.float64)
        out = layer.mano(betas=betas, global_orient=zero, hand_pose=hand_pose)
        return out.joints[:, :16]

    release = smplx_joints([4 * math.pi / 3, 0.0, 0.0])
    standard = smplx_joints([-2 * math.pi / 3, 0.0, 0.0])
    torch.testing.assert_close(ours[:, :16], release)
    assert (ours[:, :16] - standard).norm(dim=-1).max() > 1e-3  # the two branches differ after the mean


def test_published_axis_angles_reproduce_published_joints_in_smplx() -> None:
    """Feed HandEstimate.global_orient_aa / hand_pose_aa / betas into smplx MANO (flat_hand_mean=False,
    built here from the same model files) and add the translation: the published joints come out."""
    import smplx

    torch.manual_seed(0)
    net = WildHandsNet(small_cfg()).eval()
    with torch.no_grad():  # large arbitrary rotations, many beyond 90 degrees
        for head in (net.head_r, net.head_l):
            head.hmr_layer.decoders["pose_6d"].bias.copy_(torch.randn(96) * 2.0)
    est = HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=WildHands(net))
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
    hands = est.estimate(image, K, [HandBox(np.array([40.0, 40, 120, 140]), True),
                                    HandBox(np.array([180.0, 60, 260, 160]), False)])
    mano_dir = resolve_mano_dir()
    angles = []
    for h in hands:
        model = smplx.MANO(str(mano_dir), is_rhand=h.is_right, use_pca=False, flat_hand_mean=False).double()
        out = model(betas=torch.from_numpy(h.betas)[None],
                    global_orient=torch.from_numpy(h.global_orient_aa)[None],
                    hand_pose=torch.from_numpy(h.hand_pose_aa)[None])
        tips = out.vertices[0, [FINGERTIP_VERTEX_IDS[k] for k in TIP_ORDER]]
        joints = torch.cat([out.joints[0, :16], tips]).detach().numpy() + h.transl_m
        np.testing.assert_allclose(joints, h.joints_m, atol=2e-5)
        angles.append(np.linalg.norm(h.hand_pose_aa.reshape(15, 3), axis=1))
    assert np.concatenate(angles).max() > math.pi  # the release branch was exercised


# --- 3. border crops ----------------------------------------------------------------------------------
def test_a_border_crop_has_a_black_band_and_only_the_kpe_box_is_clipped() -> None:
    """224x224 white image (release letterbox = identity: scale 1, offset 112 - 224/2 = 0); the box
    [0, 92, 40, 132] is rounded as the release rounds it (``release_crop_squares``: corners 1, 93, 41, 133;
    41 comes back from float32 as 40.999996, so x1 = 40): a 40 px box centred at u = (1 + 40) // 2 = 20 gives
    a 70 px square (x1.75) from u = -15 to 55, v from 113 - 35 = 78 to 148. The release's crop pixel c samples
    u = -15 + c x 70/224 (the square's edge on crop pixel 0, its centre on 112), and the image starts at its
    left pixel edge u = -0.5: crop pixels c < (15 - 0.5) x 224/70 = 46.4 lie outside it and must be black
    (zero padding), a dark band of 46.4 + 0.5 = 46.9 pixel widths; the KPE box is the square clipped at
    u = 0."""
    white = np.full((224, 224, 3), 255, np.uint8)
    lb = Letterbox(224, 224, convention="release")
    assert (lb.scale, lb.offset_x, lb.offset_y) == (1.0, 0.0, 0.0)
    box = np.array([[0.0, 92.0, 40.0, 132.0]])
    crop, kpe = crop_and_kpe_boxes(box, 1.75, "release")
    np.testing.assert_allclose(crop, [[-15.0, 78.0, 55.0, 148.0]])
    np.testing.assert_allclose(kpe, [[0.0, 78.0, 55.0, 148.0]])
    whole = whole_image_224(white, lb)
    out = cut_crops(white, whole, lb, crop)[0]
    assert out[:, :45].max() == 0
    assert out[:, 50:].min() >= 254
    band = 14.5 / 70 * 224 + 0.5
    assert (1.0 - out[..., 0] / 255.0).sum(axis=1) == pytest.approx(np.full(224, band), abs=0.2)
    # the project's format-1 convention stretches the clipped square instead: no black band
    crop_v1, kpe_v1 = crop_and_kpe_boxes(box, 1.75, "wildhands_v1")
    np.testing.assert_allclose(crop_v1, kpe_v1)
    lb1 = Letterbox(224, 224, convention="wildhands_v1")
    assert cut_crops(white, whole_image_224(white, lb1), lb1, crop_v1)[0][:, 2:-2].min() >= 254


def test_a_release_crop_puts_the_square_centre_on_pixel_112_and_clips_the_hand_box_first() -> None:
    """Release: crop pixel = (u - x0) 224 / side (centre -> 112, x0 -> 0); a hand box reaching past the
    224 frame is clipped to [0, 223] before its square is built (release dataset): [200, 100, 240, 140]
    becomes [201, 101, 241 -> 223, 141] (``astype(int) + 1``, then the clip), centre ((201 + 223) // 2,
    (101 + 141) // 2) = (212, 121), side max(22, 40) = 40."""
    from wildhands_core.preprocess import crop_affine_224

    A = crop_affine_224(np.array([10.0, 20.0, 80.0, 90.0]))
    assert (A @ [45.0, 55.0, 1.0])[:2].tolist() == pytest.approx([112.0, 112.0])
    assert (A @ [10.0, 20.0, 1.0])[:2].tolist() == pytest.approx([0.0, 0.0])
    crop, _ = crop_and_kpe_boxes(np.array([[200.0, 100.0, 240.0, 140.0]]), 1.0, "release")
    np.testing.assert_allclose(crop, [[192.0, 101.0, 232.0, 141.0]])  # box clipped to x1 = 223: side 40


# --- 4. the whole image -------------------------------------------------------------------------------
def test_release_letterbox_maps_u_minus_half_width() -> None:
    """u' = (u - W/2) 224/L + 112: for 1280x720, scale 0.175, offsets (0, 49); the image centre (640, 360)
    and a principal point there go to (112, 112)."""
    lb = Letterbox(1280, 720, convention="release")
    assert lb.scale == pytest.approx(0.175)
    assert (lb.offset_x, lb.offset_y) == pytest.approx((0.0, 49.0))
    K = torch.tensor([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]], dtype=torch.float64)
    K224 = lb.K_to_224(K)
    assert K224[0, 0].item() == pytest.approx(175.0)
    assert (K224[0, 2].item(), K224[1, 2].item()) == pytest.approx((112.0, 112.0))


def test_release_whole_image_puts_content_where_the_mapping_says() -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    img[320:400, 600:680] = 255  # centre (639.5, 359.5) -> (111.9125, 111.9125) in the 224 frame
    lb = Letterbox(1280, 720, convention="release")
    out = whole_image_224(img, lb)[..., 0].astype(np.float64)
    vv, uu = np.mgrid[0:224, 0:224]
    cu, cv = (out * uu).sum() / out.sum(), (out * vv).sum() / out.sum()
    assert (cu, cv) == pytest.approx((639.5 * 0.175, 359.5 * 0.175 + 49.0), abs=0.05)
    assert out[:48].max() == 0 and out[177:].max() == 0  # letterbox bands: v' < 49 and v' > 175


def test_the_estimator_prepares_by_the_checkpoints_convention() -> None:
    net = WildHandsNet(small_cfg())
    est = HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=WildHands(net))
    assert est.input_convention == "release"
    white = np.full((224, 224, 3), 255, np.uint8)
    prep = est.prepare([(white, None, [HandBox(np.array([0.0, 92.0, 40.0, 132.0]), True)])])
    np.testing.assert_allclose(prep.inputs["boxes_224"], [[0.0, 78.0, 55.0, 148.0]], atol=1e-5)
    np.testing.assert_allclose(prep.crop_boxes_px, [[-15.0, 78.0, 55.0, 148.0]], atol=1e-9)
    crop = prep.inputs["crops"][0]  # normalised: black = -mean/std
    np.testing.assert_allclose(crop[0, :, :44], -0.485 / 0.229, atol=1e-4)


# --- 5. safe loading ------------------------------------------------------------------------------------
class EasyDictLike(dict):
    """Like easydict.EasyDict: a dict whose keys are attributes too."""

    def __init__(self, d=None):
        super().__init__(d or {})
        for k, v in (d or {}).items():
            setattr(self, k, v)


class WritesAFile:
    """An object whose unpickling would create a file (arbitrary code in a pickle)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_lightning_file_with_pickled_objects_loads_without_running_them(tmp_path: Path, capsys) -> None:
    cfg = small_cfg()
    sd = {f"model.{k}": v for k, v in WildHandsNet(cfg).state_dict().items()}
    marker = tmp_path / "code_ran"
    ckpt = {
        "epoch": 99, "global_step": 1234, "pytorch-lightning_version": "1.9.0", "state_dict": sd,
        "hyper_parameters": {"args": argparse.Namespace(lr=1e-5, batch_size=32),
                             "cfg": EasyDictLike({"method": "wildhands"})},
        "callbacks": {"ModelCheckpoint": WritesAFile(str(marker))},
        "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 1e-5}]}],
    }
    path = tmp_path / "real.ckpt"
    torch.save(ckpt, path)
    net, _, meta = load_released_checkpoint(path, cfg=cfg)
    assert not marker.exists()
    torch.testing.assert_close(net.head_r.cam_init[0].weight, sd["model.head_r.cam_init.0.weight"])
    where = " ".join(meta["skipped_objects"])
    assert "hyper_parameters.args (argparse.Namespace)" in where
    assert "EasyDictLike" in where and "(io.open)" in where


# --- 6. MANO from the checkpoint ------------------------------------------------------------------------
def _released_mano_entries() -> dict[str, tuple[int, ...]]:
    """name -> shape of the released file's ``mano_r.*`` entries (official_state_dict.tsv)."""
    out = {}
    for line in (REFERENCE / "official_state_dict.tsv").read_text().splitlines():
        key, shape, _ = line.split("\t")
        if key.startswith("mano_r."):
            out[key.removeprefix("mano_r.")] = tuple(eval(shape))
    return out


def _released_with_mano(tmp_path: Path, cfg: ModelConfig | None = None) -> Path:
    """A released-layout file whose MANO entries (names and shapes of the reference) hold the smplx
    buffers of the procedural model; smplx parameters this project does not create are zeros."""
    sd = {f"model.{k}": v for k, v in WildHandsNet(cfg or ModelConfig()).state_dict().items()}
    entries = _released_mano_entries()
    for side, letter in (("right", "r"), ("left", "l")):
        buffers = ManoLayer(side).mano.state_dict()
        for k, shape in entries.items():
            v = buffers.get(k, torch.zeros(shape))
            assert tuple(v.shape) == shape, k
            sd[f"mano_{letter}.{k}"] = v
            sd[f"model.mano_{letter}.mano.{k}"] = v
    path = tmp_path / "released.ckpt"
    torch.save({"state_dict": sd}, path)
    return path


@needs_reference
def test_smplx_buffers_have_the_released_names_and_shapes() -> None:
    entries = _released_mano_entries()
    buffers = ManoLayer("right").mano.state_dict()
    assert set(buffers) <= set(entries)
    assert {k: tuple(v.shape) for k, v in buffers.items()} == {k: entries[k] for k in buffers}


@needs_reference
def test_mano_from_the_checkpoint_when_no_files_are_configured(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(MANO_DIR_ENV, raising=False)
    path = _released_with_mano(tmp_path, small_cfg())
    _, _, meta = load_released_checkpoint(path, cfg=small_cfg())
    right, left = load_mano_pair(None, meta["mano"], path.name)
    assert right.source == left.source == "MANO from checkpoint (released.ckpt)"
    files_r, files_l = ManoLayer("right"), ManoLayer("left")
    g = torch.Generator().manual_seed(0)
    rotmat = torch.from_numpy(Rotation.random(4 * 16, random_state=1).as_matrix()).float()
    rotmat = rotmat.reshape(4, 16, 3, 3)
    betas = torch.randn(4, 10, generator=g)
    for ours, ref in ((right, files_r), (left, files_l)):
        torch.testing.assert_close(ours(rotmat, betas)["joints"], ref(rotmat, betas)["joints"])
    # files given explicitly win
    explicit_r, _ = load_mano_pair(resolve_mano_dir(), meta["mano"], path.name)
    assert explicit_r.source.startswith("procedural")


@needs_reference
def test_the_estimator_and_inspect_say_mano_from_checkpoint(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv(MANO_DIR_ENV, raising=False)
    path = _released_with_mano(tmp_path)
    est = HandPoseEstimator(EstimatorConfig(checkpoint=str(path)))
    assert est.mano_source == "MANO from checkpoint (released.ckpt)"
    assert est.input_convention == "release"
    assert inspect_main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "mano: MANO from checkpoint" in out and "input_convention: release" in out
