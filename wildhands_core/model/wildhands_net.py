"""The WildHands network (Prakash et al., ECCV 2024, Sec. 3): images and hand crops -> MANO parameters.

Inputs are in the 224 frame (see :mod:`wildhands_core.camera`): ``images`` (F, 3, 224, 224) letterboxed
whole images and ``crops`` (N, 3, 224, 224) hand crops, both RGB, ImageNet-normalised
(``constants.IMAGENET_MEAN/STD``); ``frame_idx`` (N,) long = the frame of each crop; ``is_right`` (N,) bool;
``boxes_224`` (N, 4) crop boxes (x0, y0, x1, y1) and ``K_224`` (N, 3, 3) intrinsics, both in the 224 frame.

Per hand (released variant): crop features (hand trunk) + whole-image features of its frame (image trunk,
computed once per frame), concatenated with the KPE (80 channels) -> ``feature_conv`` -> the head of its side
(``head_r`` / ``head_l``) -> optional grasp classifier. Module names equal the release's, so
``state_dict()`` keys are the released keys without the ``model.`` prefix. The optional side classifier
(``side_classifier``, a project addition) reads the crop features alone and says whether the crop is a
right hand, whatever side the hand was given.
"""

from __future__ import annotations

import torch
from torch import nn

from wildhands_core.config import ModelConfig
from wildhands_core.constants import INPUT_SIZE, NUM_BETAS, NUM_GRASP_CLASSES, NUM_MANO_JOINTS
from wildhands_core.kpe import (
    dense_kpe,
    dense_kpe_channels,
    intrinsics_free_K,
    sparse_kpe_map,
)
from wildhands_core.model.backbones import FEATURE_SIZE, build_backbone
from wildhands_core.model.feature_fusion import FeatureFusion
from wildhands_core.model.grasp_head import GraspHead
from wildhands_core.model.hmr_head import HMRHead
from wildhands_core.model.side_head import SideHead

__all__ = ["NET_OUTPUT_SHAPES", "WildHandsNet"]

#: Trailing shape of every per-hand output of :meth:`WildHandsNet.forward`.
NET_OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "rot_6d": (NUM_MANO_JOINTS, 6),
    "rotmat": (NUM_MANO_JOINTS, 3, 3),
    "betas": (NUM_BETAS,),
    "cam_wp": (3,),
    "grasp_logits": (NUM_GRASP_CLASSES,),
    "side_logit": (),
}


class WildHandsNet(nn.Module):
    """The learnable network; see the module docstring and :class:`ModelConfig` for the variants."""

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ModelConfig()
        channels = 0
        if cfg.use_whole_image:
            if cfg.image_backbone is None:
                self.backbone = build_backbone(cfg.backbone, cfg.backbone_weights)
            else:
                self.backbone = build_backbone(cfg.image_backbone, cfg.image_backbone_weights)
            channels = self.backbone.out_channels
        if cfg.uses_crops:
            self.hand_backbone = build_backbone(cfg.backbone, cfg.backbone_weights)
            if cfg.use_whole_image and self.backbone.out_channels != self.hand_backbone.out_channels:
                # Trunks of different widths (e.g. Lite0 crops + MobileNetV3 whole image): the image
                # features are projected to the crop width before the sum.
                widths = (self.backbone.out_channels, self.hand_backbone.out_channels)
                self.image_projection = nn.Conv2d(*widths, kernel_size=1)
            channels = self.hand_backbone.out_channels
        if cfg.kpe_at_input:
            # KPE at the input: (3 + C) -> 3 channels, initialised to pass RGB through and ignore the KPE.
            self.kpe_input_adapter = nn.Conv2d(3 + self.kpe_channels, 3, kernel_size=1)
            with torch.no_grad():
                self.kpe_input_adapter.weight.zero_()
                self.kpe_input_adapter.weight[:, :3, 0, 0] = torch.eye(3)
                self.kpe_input_adapter.bias.zero_()
        fusion_in = channels + (self.kpe_channels if cfg.kpe_at_features else 0)
        self.feature_conv = FeatureFusion(fusion_in, cfg.conv_dims, cfg.fc_dim, FEATURE_SIZE)
        head_args = dict(
            feat_dim=cfg.fc_dim,
            hidden=cfg.head_hidden,
            cam_init_hidden=cfg.cam_init_hidden,
            iterations=cfg.iterations,
            dropout=cfg.dropout,
        )
        self.head_r = HMRHead(**head_args)
        self.head_l = HMRHead(**head_args)
        if cfg.grasp_head:
            self.grasp_classifier = GraspHead(cfg.grasp_hidden)
        if cfg.side_head:
            width = self.hand_backbone.out_channels
            self.side_classifier = SideHead(width, cfg.side_conv_dims, cfg.side_hidden)

    @property
    def kpe_channels(self) -> int:
        """Channels of the configured KPE form (80 sparse, 4 L dense)."""
        if self.cfg.kpe == "dense":
            return dense_kpe_channels(self.cfg.kpe_num_freqs)
        return (2 + 8) * 2 * self.cfg.kpe_num_freqs  # centre + 4 corners, 2 angles each, (sin, cos) x L

    def kpe_map(self, boxes_224: torch.Tensor, K_224: torch.Tensor, size: int) -> torch.Tensor:
        """(N, 4), (N, 3, 3) -> (N, kpe_channels, size, size) in the configured form."""
        if self.cfg.kpe == "none_intrinsics":
            K_224 = intrinsics_free_K(boxes_224.shape[0], INPUT_SIZE, boxes_224.dtype, boxes_224.device)
        if self.cfg.kpe == "dense":
            grid = max(self.cfg.dense_kpe_grid, size)
            return dense_kpe(boxes_224, K_224, size=size, grid=grid, num_freqs=self.cfg.kpe_num_freqs)
        return sparse_kpe_map(boxes_224, K_224, size=size, num_freqs=self.cfg.kpe_num_freqs)

    def empty_outputs(self) -> dict[str, torch.Tensor]:
        """Outputs for zero hands: every key present with shape (0, *trailing)."""
        p = next(self.parameters())
        optional = {"grasp_logits": self.cfg.grasp_head, "side_logit": self.cfg.side_head}
        keys = [k for k in NET_OUTPUT_SHAPES if optional.get(k, True)]
        return {k: p.new_zeros((0, *NET_OUTPUT_SHAPES[k])) for k in keys}

    def trunk_features(
        self,
        images: torch.Tensor | None,
        crops: torch.Tensor | None,
        boxes_224: torch.Tensor,
        K_224: torch.Tensor,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The trunks' outputs: crop features (N, C, 7, 7) of every hand (None without crops) and whole-image
        features (F, C_image, 7, 7) of every frame (None without the whole image), before the image
        projection. With the KPE at the features (the released variant) they depend on the pixels alone, so
        a frozen trunk's outputs can be computed once and cached (``training.feature_cache``)."""
        cfg = self.cfg
        crop_feats = image_feats = None
        if cfg.uses_crops:
            if crops is None:
                raise ValueError(f"variant {cfg.variant!r} needs hand crops")
            x = crops
            if cfg.kpe_at_input:
                kpe = self.kpe_map(boxes_224, K_224, crops.shape[-1]).to(crops.dtype)
                x = self.kpe_input_adapter(torch.cat((crops, kpe), dim=1))
            crop_feats = self.hand_backbone(x)
        if cfg.use_whole_image:
            if images is None:
                raise ValueError("use_whole_image=True needs the whole images")
            image_feats = self.backbone(images)  # once per frame, (F, C, 7, 7)
        return crop_feats, image_feats

    def fuse_features(
        self,
        crop_feats: torch.Tensor | None,
        image_feats: torch.Tensor | None,
        frame_idx: torch.Tensor,
        boxes_224: torch.Tensor,
        K_224: torch.Tensor,
    ) -> torch.Tensor:
        """Trunk outputs (:meth:`trunk_features`) -> (N, fc_dim): the image features projected to the crop
        width and picked per hand (``frame_idx``), summed with the crop features, the KPE (80 channels)
        concatenated, then ``feature_conv``."""
        feats = crop_feats
        if image_feats is not None:
            if hasattr(self, "image_projection"):
                image_feats = self.image_projection(image_feats)
            image_feats = image_feats.index_select(0, frame_idx)
            feats = image_feats if feats is None else feats + image_feats
        assert feats is not None
        if self.cfg.kpe_at_features:
            feats = torch.cat((feats, self.kpe_map(boxes_224, K_224, feats.shape[-1]).to(feats.dtype)), dim=1)
        return self.feature_conv(feats)

    def heads(
        self, feat: torch.Tensor, is_right: torch.Tensor, crop_feats: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """(N, fc_dim) fused features -> the per-hand outputs of :meth:`forward` (each hand through the head
        of its side, then the grasp classifier, and the side classifier on the crop trunk's features
        ``crop_feats`` (N, C, 7, 7) when the network has one)."""
        # Both heads run on every hand and each hand keeps its side's result: the heads are small MLPs
        # (< 1 % of the trunks' cost), and a routing without data-dependent shapes exports to ONNX and
        # TensorRT for any mix of sides (including frames with only one side).
        out_r, out_l = self.head_r(feat), self.head_l(feat)
        out = {k: select_by_side(is_right, out_r[k], out_l[k]) for k in out_r}
        if self.cfg.grasp_head:
            out["grasp_logits"] = self.grasp_classifier(out["betas"], out["rotmat"])
        if self.cfg.side_head:
            if crop_feats is None:
                raise ValueError("the side classifier needs the crop trunk's features")
            out["side_logit"] = self.side_classifier(crop_feats)
        return out

    def forward(
        self,
        images: torch.Tensor | None,
        crops: torch.Tensor | None,
        frame_idx: torch.Tensor,
        is_right: torch.Tensor,
        boxes_224: torch.Tensor,
        K_224: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Per-hand outputs, in input order.

        ``rot_6d`` (N, 16, 6), ``rotmat`` (N, 16, 3, 3) (relative to the MANO mean pose), ``betas`` (N, 10),
        ``cam_wp`` (N, 3) = weak-perspective (s, tx, ty) of the 224 frame, ``grasp_logits`` (N, 9) when the
        grasp head is built, ``side_logit`` (N,) (logit of P(right)) when the side classifier is. N = 0
        returns empty tensors without running any trunk.
        """
        n = frame_idx.shape[0]
        if n == 0:
            return self.empty_outputs()
        crop_feats, image_feats = self.trunk_features(images, crops, boxes_224, K_224)
        feat = self.fuse_features(crop_feats, image_feats, frame_idx, boxes_224, K_224)
        return self.heads(feat, is_right, crop_feats)


def select_by_side(is_right: torch.Tensor, right: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """Per hand, ``right[i]`` where ``is_right[i]`` else ``left[i]`` (tensors of equal shape (N, ...))."""
    mask = is_right.to(torch.bool).reshape((-1,) + (1,) * (right.dim() - 1))
    return torch.where(mask, right, left)
