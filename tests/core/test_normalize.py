"""ImageNet normalisation of network inputs
(reference: RGB mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225)."""

from __future__ import annotations

import numpy as np

from wildhands_core.preprocess import normalize


def test_every_uint8_level_of_every_channel_maps_to_the_imagenet_normalised_value_channel_first():
    levels = np.arange(256, dtype=np.uint8)
    img = np.stack([levels, levels[::-1], np.roll(levels, 7)], axis=-1).reshape(1, 16, 16, 3)
    got = normalize(np.concatenate([img, img[:, ::-1]]))
    assert got.shape == (2, 3, 16, 16) and got.dtype == np.float32 and got.flags.c_contiguous
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (img[0].astype(np.float64) / 255.0 - mean) / std  # (16, 16, 3)
    np.testing.assert_allclose(got[0], expected.transpose(2, 0, 1), atol=1e-5)
    np.testing.assert_allclose(got[1], expected[::-1].transpose(2, 0, 1), atol=1e-5)


def test_the_table_look_up_is_bit_identical_to_float32_arithmetic_on_random_images():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (3, 37, 53, 3), dtype=np.uint8)
    mean = np.float32(255.0) * np.array([0.485, 0.456, 0.406], np.float32)
    inv_std = np.float32(1.0) / (np.float32(255.0) * np.array([0.229, 0.224, 0.225], np.float32))
    arithmetic = ((x.astype(np.float32) - mean) * inv_std).transpose(0, 3, 1, 2)
    assert np.array_equal(normalize(x), arithmetic)
    assert normalize(x[:0]).shape == (0, 3, 37, 53)
