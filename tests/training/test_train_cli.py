"""``wildhands-train`` and ``wildhands-eval`` end to end on a tiny synthetic set."""

from __future__ import annotations

import json

import pytest
import yaml
from train_helpers import TINY_MODEL, make_synth

from training.cli import eval_main, train_main
from training.config import load_train_config


def test_dotted_overrides_replace_nested_values_and_parse_numbers():
    cfg = load_train_config("training/configs/train_paper.yaml",
                            ["optim.lr=2e-5", "data.datasets.1.proportion=0.5", "model.backbone=resnet18"])
    assert cfg.optim.lr == 2e-5 and cfg.model.backbone == "resnet18"
    assert cfg.data.datasets[1].name == "assemblyhands" and cfg.data.datasets[1].proportion == 0.5
    assert cfg.optim.batch_size == 144 and cfg.augment.crop_scale == 1.5  # paper Sec. 4.1
    # the authors' recipe (reference/datasets.md): clip 150, mixture by size, their augmentations and norms
    assert cfg.optim.grad_clip == 150.0 and cfg.data.mixture == "by_size"
    a = cfg.augment
    assert (a.crop_scale_jitter, a.box_shift_jitter, a.pixel_noise, a.rotation_prob) == (0.0, 0.2, 0.4, 0.4)
    assert (cfg.loss.kp2d_frame, cfg.loss.mask_frame, cfg.loss.mask_error, cfg.loss.reduction) == (
        "whole224", "whole224", "l1", "batch_mean")
    assert cfg.data.datasets[1].crop_scale == 1.75


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown"):
        load_train_config(None, ["optim.learning_rate=1"])


@pytest.mark.slow
def test_train_then_eval_from_the_command_line(tmp_path, capsys):
    root = make_synth(tmp_path / "synth", frames=2)
    cfg = {"model": TINY_MODEL, "data": {"datasets": [{"name": "synthetic", "root": str(root)}]},
           "optim": {"batch_size": 1, "max_steps": 1, "lr": 1e-4}, "device": "cpu",
           "augment": {"box_source": "sample"},
           "log": {"out_dir": str(tmp_path / "run"), "progress": False, "tensorboard": True}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert train_main([str(path), "log.log_every=1"]) == 0
    ckpt = tmp_path / "run" / "last.pt"
    assert ckpt.is_file() and (tmp_path / "run" / "tb").is_dir()
    out_json = tmp_path / "res.json"
    assert eval_main([str(ckpt), "--dataset", f"synthetic={root}", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "mpjpe_mm" in printed and "synthetic" in printed
    assert "kp2d_l2_224px: 2D L2, px of the whole image letterboxed to 224" in printed
    assert "crops: synthetic 1.5 x the tight box" in printed
    res = json.loads(out_json.read_text())
    assert res["synthetic"]["hands"] >= 2


def test_eval_adapter_options_go_to_their_dataset_and_a_stray_one_is_an_error(tmp_path, capsys):
    from fixtures_h2o import write_h2o

    write_h2o(tmp_path)  # no pose_lists/: split=val must reach the H2O adapter, which names the list
    assert eval_main(["none.pt", "--dataset", f"h2o={tmp_path}", "-o", "h2o.split=val"]) == 2
    assert "pose_lists/pose_val.txt" in capsys.readouterr().err
    assert eval_main(["none.pt", "--dataset", f"h2o={tmp_path}", "-o", "epic.split=val"]) == 2
    assert "-o names no --dataset: ['epic']" in capsys.readouterr().err
