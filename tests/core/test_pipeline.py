"""HandPipeline: detector + tracker + the real estimator (small random ResNet-18 network) + smoother."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from wildhands_core.config import ModelConfig
from wildhands_core.detection.base import HandDetection
from wildhands_core.estimate import HandBox
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.model.wildhands import WildHands
from wildhands_core.model.wildhands_net import WildHandsNet
from wildhands_core.pipeline import HandPipeline, PipelineConfig, build_detector
from wildhands_core.tracking.config import TrackerConfig

K = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])
RIGHT_BOX, LEFT_BOX = [60.0, 70, 140, 170], [180.0, 70, 260, 170]
IMAGE = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
T0 = 5 * 10**18


@pytest.fixture(scope="module")
def estimator():
    torch.manual_seed(0)
    net = WildHandsNet(
        ModelConfig(
            backbone="resnet18", conv_dims=(64, 32, 16), fc_dim=128, head_hidden=128, cam_init_hidden=64
        )
    )
    with (
        torch.no_grad()
    ):  # constant cameras: each hand lands near its box at 0.7 m (see tests/ros/node_harness)
        for head, u in (("head_r", 100.0), ("head_l", 220.0)):
            getattr(net, head).cam_init[4].weight.zero_()
            getattr(net, head).cam_init[4].bias.copy_(
                torch.tensor([1.875 / 0.7, (u - 159.5) / 300 * 0.7, 0.0])
            )
            getattr(net, head).hmr_layer.decoders["cam_t/wp"].weight.zero_()
            getattr(net, head).hmr_layer.decoders["cam_t/wp"].bias.zero_()
    return HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=WildHands(net))


def _external(**kw) -> PipelineConfig:
    """The boxes come from the test (the "external" source; MediaPipe is the default)."""
    return PipelineConfig(detector_sources=("external",), **kw)


def _dets():
    return [HandDetection(RIGHT_BOX, True, 0.9, "external"), HandDetection(LEFT_BOX, False, 0.8, "external")]


def test_tracks_are_published_after_min_hits_with_stable_ids_and_reprojected_keypoints(estimator):
    p = HandPipeline(estimator, _external(tracker=TrackerConfig(min_hits=2, redetect_every_n=1)))
    outputs = []
    for i in range(3):
        stamp = T0 + i * 33_000_000
        p.set_external_boxes(stamp, _dets())
        outputs.append(p.process(IMAGE, K, stamp))
    assert outputs[0] == []  # tentative tracks are not published
    assert [[(e.track_id, e.is_right) for e in out] for out in outputs[1:]] == [[(0, True), (1, False)]] * 2
    for e in outputs[2]:
        uvw = e.joints_m @ K.T
        np.testing.assert_allclose(e.keypoints_px, uvw[:, :2] / uvw[:, 2:], atol=1e-6)
        np.testing.assert_allclose(e.box_xyxy_px, RIGHT_BOX if e.is_right else LEFT_BOX)
        assert 0 < e.confidence <= (0.9 if e.is_right else 0.8) + 1e-9  # detection score x keypoints in crop
    assert p.last_timing.estimate_s > 0 and p.last_timing.detector_ran


def test_an_estimate_that_stops_looking_like_a_hand_is_withheld_counted_and_ends_its_track(estimator):
    """The fixture's hands are 0.7 m away (its constant cameras): within the default 3 m, but not within a
    0.5 m limit, which the test sets once both hands are published."""
    cfg = TrackerConfig(min_hits=2, redetect_every_n=1, max_implausible_estimates=2)
    p = HandPipeline(estimator, _external(tracker=cfg))
    published = []
    for i in range(5):
        stamp = T0 + i * 33_000_000
        if i == 2:
            p.tracker.config.max_hand_depth_m = 0.5
        p.set_external_boxes(stamp, _dets())
        published.append(len(p.process(IMAGE, K, stamp)))
    # frame 1 publishes both; frames 2 and 3 withhold both (depth: 4 estimates), and frame 3's, the second
    # in a row, ends both tracks; frame 4's detections start new tracks, too far again, never confirmed
    assert published == [0, 2, 0, 0, 0]
    assert p.withheld == {"depth": 4}
    assert p.tracker.ended["implausible"] == 2


def test_without_tracking_every_detection_is_estimated_untracked(estimator):
    p = HandPipeline(estimator, _external(tracking=False, tracker=TrackerConfig(max_hands=1)))
    p.set_external_boxes(T0, _dets())
    [only] = p.process(IMAGE, K, T0)
    assert (only.track_id, only.is_right) == (-1, True)  # the higher score wins the single slot


def test_a_detection_under_the_min_score_keeps_a_track_but_is_never_a_hand_of_its_own(estimator):
    cfg = dict(detector_min_score=0.3, tracker=TrackerConfig(min_hits=2, redetect_every_n=1,
                                                             low_detection_score=0.1))
    weak = [HandDetection(RIGHT_BOX, True, 0.15, "external")]
    untracked = HandPipeline(estimator, _external(tracking=False, **cfg))
    untracked.set_external_boxes(T0, weak)
    assert untracked.process(IMAGE, K, T0) == []  # no track to keep: not estimated
    tracked = HandPipeline(estimator, _external(**cfg))
    for k, dets in enumerate([_dets()[:1], _dets()[:1], weak, weak, weak, weak, weak, weak]):
        tracked.set_external_boxes(T0 + k, dets)
        out = tracked.process(IMAGE, K, T0 + k)
    assert [e.track_id for e in out] == [0]  # 6 frames of weak detections > max_missed (5): still tracked
    assert tracked.tracker.track(0).detection.score == 0.15
    fresh = HandPipeline(estimator, _external(**cfg))
    for k in range(3):
        fresh.set_external_boxes(T0 + k, weak)
        assert fresh.process(IMAGE, K, T0 + k) == [] and fresh.tracker.tracks == []  # starts nothing


def test_the_learned_detector_keeps_detections_down_to_the_trackers_low_score(tmp_path):
    from wildhands_core.detection.learned import (
        DetectorModelConfig,
        build_detector_model,
        save_detector_checkpoint,
    )

    cfg = DetectorModelConfig()
    torch.manual_seed(0)
    ckpt = str(save_detector_checkpoint(tmp_path / "det.pt", build_detector_model(cfg), cfg))
    for low, floor in ((0.1, 0.1), (0.5, 0.3)):
        det, _, _ = build_detector(PipelineConfig(
            detector_sources=("learned",), learned_detector_checkpoint=ckpt, detector_min_score=0.3,
            tracker=TrackerConfig(low_detection_score=low),
        ))
        assert det.detectors[0].score_threshold == floor


def test_frame_whose_boxes_arrive_late_waits_for_them(estimator):
    p = HandPipeline(estimator, _external(external_wait_s=2.0, tracker=TrackerConfig(min_hits=1)))
    timer = threading.Timer(0.2, lambda: p.set_external_boxes(T0, _dets()))
    t = time.monotonic()
    timer.start()
    out = p.process(IMAGE, K, T0)
    assert time.monotonic() - t >= 0.2
    assert len(out) == 2


def test_frame_without_boxes_gives_no_hands_when_nothing_waits(estimator):
    p = HandPipeline(estimator, _external(external_wait_s=0.0, tracker=TrackerConfig(min_hits=1)))
    assert p.process(IMAGE, K, T0) == []


def test_unavailable_detector_sources_are_skipped_with_a_reason():
    det, external, skipped = build_detector(PipelineConfig(detector_sources=("learned", "external")))
    assert external is not None and det is not None
    assert "checkpoint" in skipped["learned"]
    det, external, skipped = build_detector(PipelineConfig(detector_sources=("learned",)))
    assert (det, external) == (None, None)


def test_configured_learned_detector_runs_beside_the_external_boxes(tmp_path):
    from wildhands_core.detection.learned import (
        DetectorModelConfig,
        build_detector_model,
        save_detector_checkpoint,
    )

    cfg = DetectorModelConfig()
    torch.manual_seed(0)
    ckpt = save_detector_checkpoint(tmp_path / "det.pt", build_detector_model(cfg), cfg)
    det, external, skipped = build_detector(
        PipelineConfig(detector_sources=("learned", "external"), learned_detector_checkpoint=str(ckpt))
    )
    assert skipped == {} and external is not None
    from wildhands_core.detection.learned import LearnedHandDetector

    assert isinstance(det.detectors[0], LearnedHandDetector)
    external.set_boxes(T0, _dets())
    found = det.detect(IMAGE, T0)  # both sources ran; NMS per side over their union
    assert {d.source for d in found} <= {"learned", "external"}
    assert all(isinstance(d.is_right, bool) for d in found)


def test_unknown_detector_source_is_refused():
    with pytest.raises(ValueError, match="yolo"):
        PipelineConfig(detector_sources=("yolo",))


def _sided_estimator(right_logit: float) -> HandPoseEstimator:
    """A small network whose side classifier says P(right) = sigmoid(right_logit) for every crop."""
    torch.manual_seed(0)
    net = WildHandsNet(ModelConfig(backbone="resnet18", conv_dims=(16, 16, 16), fc_dim=32, head_hidden=32,
                                   cam_init_hidden=16, side_head=True))
    with torch.no_grad():
        last = net.side_classifier.classifier[-1]
        last.weight.zero_()
        last.bias.fill_(right_logit)
    return HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=WildHands(net))


def test_untracked_a_hand_whose_crop_says_the_other_side_is_estimated_as_that_side():
    est = _sided_estimator(4.0)  # P(right) = 0.982 for every crop: |2p - 1| = 0.96 >= 0.5
    p = HandPipeline(est, _external(tracking=False))
    p.set_external_boxes(T0, _dets())  # the detector says right for one box, left for the other
    out = p.process(IMAGE, K, T0)
    assert [e.is_right for e in out] == [True, True]
    direct = est.estimate(IMAGE, K, [HandBox(np.asarray(LEFT_BOX), True, 0.8)])[0]
    np.testing.assert_allclose(out[1].joints_m, direct.joints_m)  # decoded by the right head
    never = HandPipeline(est, _external(tracking=False, untracked_side_margin=1.0))
    never.set_external_boxes(T0, _dets())
    assert [e.is_right for e in never.process(IMAGE, K, T0)] == [True, False]


def test_untracked_an_unsure_side_classifier_keeps_the_detectors_label():
    est = _sided_estimator(0.4)  # P(right) = 0.599: |2p - 1| = 0.197 < 0.5
    p = HandPipeline(est, _external(tracking=False))
    p.set_external_boxes(T0, _dets())
    assert [e.is_right for e in p.process(IMAGE, K, T0)] == [True, False]
