"""Choosing each block's quantised levels from its unquantised DCT coefficients.

libjpeg rounds every coefficient to the nearest multiple of its table entry. The
coefficient path of the machine preset (:mod:`jpegsal.codec.dct_writer`) chooses the
levels itself, once, from the pixels' own DCT:

* :func:`dead_zone_quantise`: ``sign(c) * floor(|c| / q + offset)``; offset 0.5 is
  libjpeg's rounding, a smaller one a dead zone (values just past a rounding boundary go
  down: fewer bits, less texture energy);
* :func:`energy_quantise`: rounding to nearest, then the AC values nearest their
  rounding boundary rounded *up*, until a share of the AC energy that rounding removed is
  back. Classifiers lean on texture; rounding to nearest flattens it (most AC values are
  small and go to 0). docs/experiments.md, sections 8 and 10, has the measurements.

Both are pure functions of ``(..., 8, 8)`` coefficients and an 8x8 table (natural order).
"""

from __future__ import annotations

import numpy as np

__all__ = ["dead_zone_quantise", "energy_quantise"]

# Sort keys of energy_quantise: (32767 - fraction in 1/65536) << 34 | gain << 6 | column.
# Values that are not candidates get a key past every candidate's, with no gain bits.
_GAIN_SHIFT, _GAIN_BITS, _RANK_SHIFT = 6, 28, 34
_LAST = np.int64(1 << 50)


def dead_zone_quantise(
    coefs: np.ndarray, table: np.ndarray, offset: float | np.ndarray
) -> np.ndarray:
    """``sign(c) * floor(|c| / table + offset)`` as int16 (offset 0.5: round to nearest;
    ``table`` and ``offset`` broadcast against ``coefs``, e.g. one of each per block).

    >>> c = np.array([[0.0, 6.0, -15.0, 16.0]])
    >>> dead_zone_quantise(c, np.array([[10.0, 10.0, 10.0, 10.0]]), 0.5).tolist()
    [[0, 1, -2, 2]]
    >>> dead_zone_quantise(c, np.array([[10.0, 10.0, 10.0, 10.0]]), 0.3).tolist()
    [[0, 0, -1, 1]]
    """
    levels = np.floor(np.abs(coefs) / table + offset)
    out: np.ndarray = (np.sign(coefs) * levels).astype(np.int16)
    return out


def energy_quantise(coefs: np.ndarray, table: np.ndarray, share: float = 1.0) -> np.ndarray:
    """Round to nearest, then round *up* the AC values closest to their rounding boundary,
    block by block, while each one brings the block's AC energy nearer to the original's
    less ``(1 - share)`` of what rounding removed (``share`` 1: all of it back).

    The DC keeps its nearest level and a value only ever moves to its other neighbour, so
    no level is further than one step from the coefficient. ``coefs``: (..., 8, 8).

    >>> c = np.zeros((1, 8, 8)); c[0, 0, 1:6] = 4.0  # AC energy 80; to nearest: 0
    >>> energy_quantise(c, np.full((8, 8), 10.0))[0, 0, :6].tolist()  # one up: 100
    [0, 1, 0, 0, 0, 0]
    """
    shape = coefs.shape
    q = np.asarray(table, np.float32).reshape(64)
    if not (q.min() >= 1 and q.max() <= 255):
        raise ValueError(
            f"energy_quantise takes baseline tables (1..255), got {q.min():g}..{q.max():g}"
        )
    flat = coefs.reshape(-1, 64)
    n = flat.shape[0]
    x = np.abs(flat, dtype=np.float32)
    x /= q
    low = np.floor(x)
    frac = x - low
    candidate = frac < 0.5  # rounded down: the ones that could go up
    near = low + ~candidate
    q2 = (q * q).astype(np.float64)
    x *= x
    x -= near * near
    x[:, 0] = 0
    deficit = share * (x @ q2)  # the AC energy rounding to nearest removed, per block
    candidate[:, 0] = False
    ranked, key = _ranked(frac, (2 * low + 1) * q2, candidate)
    gains = ranked.T.copy()  # (64, n): the running sum adds whole rows; a copy, always
    gains >>= _GAIN_SHIFT
    gains &= (1 << _GAIN_BITS) - 1
    g = gains.astype(np.float64)
    taken, total = np.zeros(n, np.int64), np.zeros(n)
    for i in range(64):  # a flip is taken while it brings the energy nearer the target
        total += g[i]
        taken += (g[i] > 0) & (2 * total - g[i] < 2 * deficit)
    # The flips taken are a prefix of each block's ranking: every key below the first
    # key not taken goes up.
    first = np.where(taken < 64, ranked[np.arange(n), np.minimum(taken, 63)], _LAST << 1)
    levels = near + (key < first[:, None])
    out: np.ndarray = np.copysign(levels, flat).astype(np.int16).reshape(shape)
    return out


def _ranked(
    frac: np.ndarray, gain: np.ndarray, candidate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(each row's keys sorted, the keys): candidates by descending fraction, then energy
    gain, then column (so keys are unique in a row); the others after them all."""
    key = (32767 - (frac * 65536).astype(np.int64)) << _RANK_SHIFT
    key |= gain.astype(np.int64) << _GAIN_SHIFT
    cols = np.arange(64)
    key = np.where(candidate, key | cols, _LAST | cols)
    return np.sort(key, axis=1), key
