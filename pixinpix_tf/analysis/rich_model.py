"""Feature steganalysers of whole photos, as the field runs them: hand-made features and a linear classifier.

- `spam`: SPAM (Pevny, Bas and Fridrich 2010): second-order Markov transitions of the luma's neighbour
  differences, truncated to [-T, T], along the 8 directions and averaged into 2 x 343 = 686 features; what
  spatial hiders (LSB, matching, the networks) disturb.
- `calibrated_dct`: for each of the 63 AC modes of the luma's 8x8 block DCT, the log mean magnitude, log
  variance and the share near zero on the 8x8 grid, minus the same on the grid shifted by 4 pixels (where a
  block-DCT hider writes nothing): what a block-DCT hider (dct-code) disturbs, calibrated against the
  photo's own content (the idea of calibration in JPEG steganalysis and of DCTR).

Each is classified by a Fisher linear discriminant with Ledoit-Wolf shrinkage (scikit-learn's
`LinearDiscriminantAnalysis`, the base learner of the ensemble classifier) on standardised features,
trained on the covers and stego images of half of the photos and tested on the other half's, over
`splits` random halvings by photo (`holdout`). scikit-learn comes with the `tf` extra.
"""

from __future__ import annotations

import numpy as np

from pixinpix_tf.analysis.metrics import min_total_error

SPAM_T = 3
_DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1))  # 4 straight, 4 diagonal
_DCT = np.sqrt(2 / 8) * np.cos(np.pi * (2 * np.arange(8)[None] + 1) * np.arange(8)[:, None] / 16)
_DCT[0] /= np.sqrt(2)


def _luma(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, np.float64) @ np.array([0.299, 0.587, 0.114]) if np.ndim(image) == 3 else \
        np.asarray(image, np.float64)


def spam(image: np.ndarray) -> np.ndarray:
    """The 686 SPAM features of a uint8 image (module docstring)."""
    luma = np.round(_luma(image))
    height, width = luma.shape
    size = 2 * SPAM_T + 1
    matrices = []
    for dy, dx in _DIRECTIONS:
        rows = slice(max(0, -3 * dy), height - max(0, 3 * dy))
        cols = slice(max(0, -3 * dx), width - max(0, 3 * dx))

        def at(k: int) -> np.ndarray:
            return luma[rows.start + k * dy: rows.stop + k * dy, cols.start + k * dx: cols.stop + k * dx]

        d1, d2, d3 = (np.clip(at(k) - at(k + 1), -SPAM_T, SPAM_T).astype(np.int64) + SPAM_T for k in range(3))
        counts = np.bincount(((d1 * size + d2) * size + d3).ravel(), minlength=size ** 3).reshape(size ** 2, size)
        matrices.append(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1))
    return np.concatenate([np.mean(matrices[:4], axis=0).ravel(), np.mean(matrices[4:], axis=0).ravel()])


def _block_dct(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape[0] // 8, luma.shape[1] // 8
    blocks = (luma[: h * 8, : w * 8] - 128).reshape(h, 8, w, 8).transpose(0, 2, 1, 3)
    return (_DCT @ blocks @ _DCT.T).reshape(-1, 64)[:, 1:]


def calibrated_dct(image: np.ndarray) -> np.ndarray:
    """The 189 calibrated block-DCT features of a uint8 image (module docstring)."""
    luma = _luma(image)

    def statistics(coefficients: np.ndarray) -> np.ndarray:
        magnitude = np.abs(coefficients)
        return np.concatenate([np.log(magnitude.mean(axis=0) + 1e-3), np.log(coefficients.var(axis=0) + 1e-3),
                               (magnitude < 0.5).mean(axis=0)])

    return statistics(_block_dct(luma)) - statistics(_block_dct(luma[4:, 4:]))


FEATURES = {"SPAM": spam, "calibrated DCT": calibrated_dct}


def holdout(cover_features: np.ndarray, stego_features: np.ndarray, splits: int = 10,
            seed: int = 0) -> dict[str, float]:
    """Accuracy (at the discriminant's threshold) and P_E of a Fisher linear discriminant trained on the
    covers and stego images of a random half of the photos (row i of both arrays is photo i) and tested on
    the other half's, the mean (and the spread of the accuracy) over `splits` halvings."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    accuracies, errors = [], []
    photos = len(cover_features)
    for _ in range(splits):
        order = rng.permutation(photos)
        train, test = order[: photos // 2], order[photos // 2:]
        classifier = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
        classifier.fit(np.concatenate([cover_features[train], stego_features[train]]),
                       np.r_[np.zeros(len(train)), np.ones(len(train))])
        cover_scores = classifier.decision_function(cover_features[test])
        stego_scores = classifier.decision_function(stego_features[test])
        accuracies.append(((cover_scores <= 0).mean() + (stego_scores > 0).mean()) / 2)
        errors.append(min_total_error(cover_scores, stego_scores))
    return {"accuracy": float(np.mean(accuracies)), "accuracy_std": float(np.std(accuracies)),
            "pe": float(np.mean(errors)), "photos": int(photos), "splits": splits}


def detectors(pairs: list[tuple[int, np.ndarray, np.ndarray]], splits: int = 10, seed: int = 0) -> dict:
    """`holdout` of each FEATURES detector on whole-photo (index, cover, stego) `pairs`."""
    results = {}
    for name, features in FEATURES.items():
        covers = np.stack([features(cover) for _, cover, _ in pairs])
        stegos = np.stack([features(stego) for _, _, stego in pairs])
        results[name] = holdout(covers, stegos, splits, seed)
    return results
