"""``wildhands-train-detector``: train the built-in hand detector (``wildhands_core.detection.learned``).

    wildhands-train-detector --data DIR [--data DIR2] --out CKPT --steps N [--val-data DIR] [--size WxH]
        [--dataset NAME=ROOT] [--batch-size B] [--lr LR] [--optimizer adam|sgd] [--max-minutes M]
    wildhands-train-detector --eval-only --init CKPT --val-data DIR [--threshold T]

Training frames come from ``wildhands-synth`` directories (``--data``, read frame by frame from
``labels.npz``: every present hand of a frame is a target) and from any registered ``HandSample`` adapter
(``--dataset NAME=ROOT``, ``training.datasets.DATASETS``; its samples are grouped into frames by
``(dataset, frame_id)``, which reads every image once at start-up; hands a dataset does not label become
background). Boxes are wildhands pixels (centre of the top-left pixel at (0, 0)); targets given to the
torchvision network are converted to its convention (+0.5 px).

Augmentation (``training.detector_data.DetectorAugmentConfig``): horizontal flip that SWAPS left and right
labels (a mirrored right hand looks like a left hand), random crop-and-zoom, colour jitter (torchvision
``ColorJitter``). Every image is resized to the network input size in the loader. Evaluation
(``training.detector_metrics.evaluate_detector``): hand AP@0.5 (side ignored), mean per-side AP@0.5 (side
must match), precision/recall at the detector's threshold and handedness accuracy of the matched hands. The
loop and its schedule: ``training.detector_loop``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from training.detector_data import DetectorAugmentConfig, HandSampleFrames, SyntheticDetectionFrames
from training.detector_loop import DetectorTrainConfig, train_detector
from training.detector_metrics import evaluate_detector
from wildhands_core.detection.learned import (
    ARCHITECTURES,
    DetectorModelConfig,
    LearnedHandDetector,
    save_detector_checkpoint,
)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x240, got {text!r}") from None
    return w, h


def build_parser() -> argparse.ArgumentParser:
    d, m = DetectorTrainConfig(), DetectorModelConfig()
    p = argparse.ArgumentParser(prog="wildhands-train-detector", description=__doc__.split("\n")[0])
    p.add_argument("--data", action="append", default=[], type=Path, help="wildhands-synth dir (repeat)")
    p.add_argument("--dataset", action="append", default=[], metavar="NAME=ROOT",
                   help="a registered HandSample adapter (training.datasets.DATASETS) and its root (repeat)")
    p.add_argument("--out", type=Path, default=None, help="checkpoint file to write (required to train)")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=d.optimizer)
    p.add_argument("--arch", choices=ARCHITECTURES, default=m.arch)
    p.add_argument("--size", type=_size, default=m.input_wh, help="network input WxH pixels (320x240)")
    p.add_argument("--workers", type=int, default=d.num_workers, help="data-loader processes")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this wall time")
    p.add_argument("--init", type=Path, default=None, help="start from this detector checkpoint")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--eval-only", action="store_true", help="evaluate --init on --val-data, no training")
    p.add_argument("--threshold", type=float, default=0.5, help="score threshold of precision/recall")
    p.add_argument("--val-data", type=Path, default=None, help="wildhands-synth directory to evaluate on")
    p.add_argument("--val-frames", type=int, default=None, help="evaluate on the first N frames only")
    p.add_argument("--onnx", type=Path, default=None, help="also export the trained detector to this .onnx")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.eval_only:
        if args.init is None or args.val_data is None:
            print("--eval-only needs --init CKPT and --val-data DIR", file=sys.stderr)
            return 2
        det = LearnedHandDetector(args.init, device=args.device)
        frames = SyntheticDetectionFrames(args.val_data, args.val_frames)
        print(json.dumps(evaluate_detector(det, frames, args.threshold, progress=not args.quiet), indent=2))
        return 0
    if args.out is None:
        print("--out CKPT is required to train", file=sys.stderr)
        return 2
    sources: list[Dataset] = [SyntheticDetectionFrames(root) for root in args.data]
    for spec in args.dataset:
        name, _, root = spec.partition("=")
        if not root:
            print(f"--dataset expects NAME=ROOT, got {spec!r}", file=sys.stderr)
            return 2
        from training.datasets import build_dataset

        sources.append(HandSampleFrames(build_dataset(name, root=root)))
    if not sources:
        print("no training data: give --data and/or --dataset", file=sys.stderr)
        return 2
    frames: Dataset = sources[0] if len(sources) == 1 else torch.utils.data.ConcatDataset(sources)
    model_cfg = DetectorModelConfig(arch=args.arch, input_wh=args.size)
    train_cfg = DetectorTrainConfig(
        steps=args.steps, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
        num_workers=args.workers, checkpoint_every=args.checkpoint_every, max_minutes=args.max_minutes,
        seed=args.seed, warmup_steps=min(DetectorTrainConfig.warmup_steps, max(args.steps // 10, 1)),
    )
    augment = None if args.no_augment else DetectorAugmentConfig()
    if args.no_augment:
        augment = DetectorAugmentConfig(flip_prob=0.0, crop_prob=0.0, brightness=0.0, contrast=0.0,
                                        saturation=0.0, hue=0.0)
    model, meta = train_detector(frames, args.out, model_cfg, train_cfg, augment, args.device, args.init,
                                 progress=not args.quiet)
    result = {"checkpoint": str(args.out), "steps": meta["step"], "minutes": round(meta["minutes"], 2),
              "loss_last100": meta["loss_last100"]}
    if args.val_data is not None:
        det = LearnedHandDetector.from_model(model, model_cfg, device=args.device)
        metrics = evaluate_detector(det, SyntheticDetectionFrames(args.val_data, args.val_frames),
                                    args.threshold, progress=not args.quiet)
        meta["val"] = metrics
        save_detector_checkpoint(args.out, model, model_cfg, meta)
        result["val"] = metrics
    if args.onnx is not None:
        from wildhands_core.detection.learned import export_detector_onnx

        export_detector_onnx(model.cpu(), args.onnx, model_cfg)
        result["onnx"] = str(args.onnx)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
