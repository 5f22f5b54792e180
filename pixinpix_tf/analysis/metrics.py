"""Image quality metrics on uint8-scale images, in numpy only (no TensorFlow).

All functions take two batches (N, H, W, C) (or single HWC images) of values in
0-255 (uint8 or float) and return one value per image:

- `psnr`: peak signal-to-noise ratio in dB, peak 255, over all channels;
  identical images give `MAX_PSNR` (100 dB) instead of infinity.
- `ssim`: structural similarity, Gaussian window 11 / sigma 1.5, K1 0.01,
  K2 0.03, valid filtering, mean over channels (as `tf.image.ssim`).
- `apd`: mean absolute pixel difference.
- `rmse`: root mean squared error.

Two more say what the residual stego - cover gives away (they take three batches or two):
- `leak`: how much of the secret's structure shows in the residual;
- `grid_ratio`: how much the residual jumps at the borders of a tile grid.
"""

from __future__ import annotations

import numpy as np

MAX_PSNR = 100.0
PERCENTILES = (5, 25, 50, 75, 95)


def _batches(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim == 3:
        a, b = a[None], b[None]
    return a, b


def mse(a, b) -> np.ndarray:
    a, b = _batches(a, b)
    return ((a - b) ** 2).mean(axis=(1, 2, 3), dtype=np.float64)


def psnr_from_mse(error: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(255.0**2 / np.asarray(error, np.float64))
    return np.minimum(values, MAX_PSNR)


def psnr(a, b) -> np.ndarray:
    return psnr_from_mse(mse(a, b))


def rmse(a, b) -> np.ndarray:
    return np.sqrt(mse(a, b))


def apd(a, b) -> np.ndarray:
    a, b = _batches(a, b)
    return np.abs(a - b).mean(axis=(1, 2, 3), dtype=np.float64)


def _gaussian_filter_valid(x: np.ndarray, size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Separable Gaussian filter over axes 1 and 2 of (N, H, W, C), 'valid' borders."""
    coords = np.arange(size) - (size - 1) / 2.0
    kernel = np.exp(-(coords**2) / (2 * sigma**2)).astype(x.dtype)
    kernel /= kernel.sum()
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=1)
    x = windows @ kernel
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=2)
    return windows @ kernel


def ssim(a, b) -> np.ndarray:
    a, b = _batches(a, b)
    size = min(11, a.shape[1], a.shape[2])
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gaussian_filter_valid(a, size), _gaussian_filter_valid(b, size)
    var_a = _gaussian_filter_valid(a * a, size) - mu_a**2
    var_b = _gaussian_filter_valid(b * b, size) - mu_b**2
    cov = _gaussian_filter_valid(a * b, size) - mu_a * mu_b
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    contrast_structure = (2 * cov + c2) / (var_a + var_b + c2)
    return (luminance * contrast_structure).mean(axis=(1, 2, 3), dtype=np.float64)


def _luma(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=-1, keepdims=True)


def leak(cover, stego, secret) -> np.ndarray:
    """Per image, the correlation (-1..1) between where the residual is strong (|stego - cover|,
    smoothed with a Gaussian of sigma 2) and where the secret has edges (its luma's gradient magnitude,
    smoothed the same way). 0: the residual shows nothing of the secret's outlines."""
    cover, stego = _batches(cover, stego)
    secret = _batches(secret, secret)[0]
    residual = np.abs(_luma(stego) - _luma(cover))[:, 1:, 1:]
    luma = _luma(secret)
    edges = np.hypot(np.diff(luma, axis=1)[:, :, 1:], np.diff(luma, axis=2)[:, 1:])
    residual, edges = (_gaussian_filter_valid(x, size=9, sigma=2.0).reshape(len(x), -1) for x in (residual, edges))
    residual, edges = residual - residual.mean(axis=1, keepdims=True), edges - edges.mean(axis=1, keepdims=True)
    norms = np.sqrt((residual**2).sum(axis=1) * (edges**2).sum(axis=1))
    return np.where(norms > 0, (residual * edges).sum(axis=1) / np.maximum(norms, 1e-12), 0.0)


def grid_ratio(cover, stego, tile: int = 32) -> np.ndarray:
    """Per image, how much more the residual stego - cover (luma) jumps between neighbouring pixels across
    the borders of a `tile` grid than between other neighbours: about 1 without a grid, above 1 with seams."""
    cover, stego = _batches(cover, stego)
    residual = (_luma(stego) - _luma(cover))[..., 0]
    across, other = [], []
    for axis in (1, 2):
        jumps = np.abs(np.diff(residual, axis=axis))
        at_border = (np.arange(1, residual.shape[axis]) % tile) == 0
        across.append(np.compress(at_border, jumps, axis=axis).reshape(len(jumps), -1))
        other.append(np.compress(~at_border, jumps, axis=axis).reshape(len(jumps), -1))
    across, other = np.concatenate(across, axis=1), np.concatenate(other, axis=1)
    return across.mean(axis=1, dtype=np.float64) / np.maximum(other.mean(axis=1, dtype=np.float64), 1e-12)


METRICS = {"psnr": psnr, "ssim": ssim, "apd": apd, "rmse": rmse}


def summarize(values: np.ndarray) -> dict[str, float]:
    """Mean and percentiles of per-image values."""
    values = np.asarray(values, np.float64)
    summary = {"mean": float(values.mean())}
    summary.update({f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES})
    return summary


def compare(reference, result) -> dict[str, dict[str, float]]:
    """Every metric of `result` against `reference`, summarized over the batch."""
    reference, result = _batches(reference, result)
    error = mse(reference, result)
    values = {"psnr": psnr_from_mse(error), "ssim": ssim(reference, result), "apd": apd(reference, result),
              "rmse": np.sqrt(error)}
    return {name: summarize(value) for name, value in values.items()}


def min_total_error(cover_scores: np.ndarray, stego_scores: np.ndarray) -> float:
    """P_E: the least (P_FA + P_MD) / 2 over every threshold, stego scoring higher (0.5: chance)."""
    thresholds = np.unique(np.concatenate([cover_scores, stego_scores, [np.inf]]))
    false_alarm = (cover_scores[None, :] >= thresholds[:, None]).mean(axis=1)
    missed = (stego_scores[None, :] < thresholds[:, None]).mean(axis=1)
    return float(np.min((false_alarm + missed) / 2))


def roc_auc(cover_scores: np.ndarray, stego_scores: np.ndarray) -> float:
    """The area under the ROC curve: the chance that a stego image scores above a cover (ties count half)."""
    difference = stego_scores[:, None] - cover_scores[None, :]
    return float(np.mean(difference > 0) + 0.5 * np.mean(difference == 0))
