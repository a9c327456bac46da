"""``wildhands-inspect CHECKPOINT``: say what a checkpoint is and whether it fits the network.

Prints the format (project or released), the input convention, whether the file carries its MANO model
("MANO from checkpoint"), which pickled foreign objects were skipped (never executed), the model
configuration (YAML) and the number of learnable parameters (no MANO buffers, no batch-norm statistics).
Exit status: 0 = loads strictly; 1 = the weights
do not fit the network (the offending keys are printed); 2 = not a checkpoint (unreadable or unknown layout).
"""

from __future__ import annotations

import argparse
import sys

import yaml

from wildhands_core.checkpoint import (
    CheckpointFormatError,
    CheckpointMismatchError,
    count_learnable_parameters,
    load_any_checkpoint,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_NOT_A_CHECKPOINT = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wildhands-inspect", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="project (.pt) or released Lightning (.ckpt) checkpoint")
    args = parser.parse_args(argv)
    try:
        net, cfg, meta = load_any_checkpoint(args.checkpoint)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_A_CHECKPOINT
    except CheckpointFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_A_CHECKPOINT
    except CheckpointMismatchError as exc:
        print(f"error: {args.checkpoint}: {exc}", file=sys.stderr)
        return EXIT_MISMATCH
    print(f"checkpoint: {args.checkpoint}")
    print(f"format: {meta['format']}" + (f" (version {meta['version']})" if "version" in meta else ""))
    if meta.get("ignored"):
        print(f"ignored keys (MANO copies, training-only heads): {len(meta['ignored'])}")
    print(f"input_convention: {cfg.input_convention}")
    if meta["format"] == "released":
        print("mano: " + ("MANO from checkpoint (right and left; used when no MANO files are configured)"
                          if meta.get("mano") else
                          "none in the checkpoint (MANO files or the procedural hand)"))
    for where in meta.get("skipped_objects") or []:
        print(f"skipped pickled object (not executed): {where}")
    print("model_config:")
    print(yaml.safe_dump(cfg.to_dict(), sort_keys=False).rstrip().replace("\n", "\n  ").join(("  ", "")))
    total = count_learnable_parameters(net)
    grasp = count_learnable_parameters(net.grasp_classifier) if cfg.grasp_head else 0
    print(f"learnable_parameters: {total}")
    print(f"learnable_parameters_without_grasp_head: {total - grasp}")
    if meta.get("training"):
        print(f"training: {sorted(meta['training'])}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
