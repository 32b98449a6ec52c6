"""The quantisers of the coefficient path, against slow per-block references."""

from __future__ import annotations

import numpy as np
import pytest

from jpegsal.codec.machine import machine_tables
from jpegsal.codec.quantise import dead_zone_quantise, energy_quantise


def _reference_energy(coefs: np.ndarray, table: np.ndarray, share: float) -> np.ndarray:
    """energy_quantise written plainly, one block and one value at a time."""
    q = table.reshape(64).astype(np.float64)
    out = []
    for block in coefs.reshape(-1, 64).astype(np.float64):
        x = np.abs(block) / q
        low = np.floor(x)
        near = np.where(x - low >= 0.5, low + 1, low)
        deficit = share * sum((x[k] ** 2 - near[k] ** 2) * q[k] ** 2 for k in range(1, 64))
        order = sorted(
            (k for k in range(1, 64) if x[k] - low[k] < 0.5), key=lambda k: (-(x[k] - low[k]), k)
        )
        total = 0.0
        for k in order:
            gain = (2 * low[k] + 1) * q[k] ** 2
            if 2 * (total + gain) - gain >= 2 * deficit:
                break
            total += gain
            near[k] += 1
        out.append(np.sign(block) * near)
    return np.asarray(out).reshape(coefs.shape)


@pytest.mark.parametrize("share", [0.25, 0.5, 1.0])
def test_energy_quantise_is_the_reference(share: float) -> None:
    rng = np.random.default_rng(7)
    coefs = rng.laplace(0, 9, (300, 8, 8)) * np.linspace(3, 0.3, 8)[None, :, None]
    coefs[:, 0, 0] = rng.normal(0, 200, 300)
    table = np.asarray(machine_tables(40, 224, 224)[0], np.float64).reshape(8, 8)
    got, want = energy_quantise(coefs, table, share), _reference_energy(coefs, table, share)
    # The fast version ranks fractions in steps of 1/65536: a tie there may order two
    # values differently; nothing else may differ.
    assert (got != want).mean() < 1e-3


def _ac_energy(levels: np.ndarray, table: np.ndarray) -> np.ndarray:
    e = (levels.reshape(-1, 64).astype(np.float64) * table.reshape(64)) ** 2
    return np.asarray(e[:, 1:].sum(axis=1))


def test_energy_quantise_keeps_ac_energy_and_moves_only_to_a_neighbour() -> None:
    rng = np.random.default_rng(3)
    coefs = rng.laplace(0, 6, (200, 8, 8)) * np.linspace(3, 0.3, 8)[None, :, None]
    table = np.asarray(machine_tables(50, 224, 224)[0], np.float64).reshape(8, 8)
    near = dead_zone_quantise(coefs, table, 0.5).astype(np.int64)
    kept = energy_quantise(coefs, table).astype(np.int64)
    target = (coefs.reshape(-1, 64) ** 2)[:, 1:].sum(axis=1)
    # every block is at least as near its original AC energy as rounding to nearest leaves it
    assert np.all(
        np.abs(_ac_energy(kept, table) - target) <= np.abs(_ac_energy(near, table) - target) + 1e-6
    )
    assert (_ac_energy(kept, table) > _ac_energy(near, table)).mean() > 0.2  # it does act
    assert np.array_equal(kept[:, 0, 0], near[:, 0, 0])  # the DC keeps its nearest level
    assert np.all((kept - near) * np.sign(coefs).astype(np.int64) >= 0)  # only away from 0
    assert np.all(np.abs(kept - near) <= 1)  # to the other neighbour, never further
    assert np.all(np.abs(kept) <= np.ceil(np.abs(coefs) / table))


def test_energy_share_zero_is_rounding_to_nearest() -> None:
    coefs = np.random.default_rng(1).laplace(0, 12, (50, 8, 8))
    table = np.full((8, 8), 9.0)
    assert np.array_equal(energy_quantise(coefs, table, 0.0), dead_zone_quantise(coefs, table, 0.5))


def test_energy_quantise_takes_baseline_tables_only() -> None:
    with pytest.raises(ValueError, match=r"baseline tables \(1..255\)"):
        energy_quantise(np.zeros((1, 8, 8)), np.full((8, 8), 300.0))
