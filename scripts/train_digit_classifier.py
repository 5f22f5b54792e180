"""Train the small MNIST classifier that `pixinpix evaluate` uses on revealed digits.

PSNR flatters mostly black digit images, so the evaluation also reports how
well a classifier reads the revealed digits. The classifier sees digits as the
pipeline makes them (28x28 zero-padded to 32x32, grayscale).

Writes pixinpix_tf/assets/digit_classifier.keras and digit_classifier.md (its card).

Example:
    TFDS_DATA_DIR=../shared/data/tfds python scripts/train_digit_classifier.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from pixinpix_tf.nets.data import load_images  # noqa: E402

ASSETS = Path(__file__).resolve().parents[1] / "pixinpix_tf" / "assets"


def digits(split: str, data_dir: str | None, batch_size: int):
    images, _ = load_images("mnist", split, 32, 1, data_dir)
    return images.map(lambda image, label: (keras.ops.cast(image, "float32") / 255.0, label)).batch(batch_size)


def build_classifier() -> keras.Model:
    inputs = keras.Input((32, 32, 1), name="digit")
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    return keras.Model(inputs, outputs, name="digit_classifier")


def save_for_inference(model: keras.Model, path: Path) -> None:
    """Save the weights in an uncompiled copy: no optimizer state (a third of the size)."""
    copy = build_classifier()
    copy.set_weights(model.get_weights())
    copy.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default=str(ASSETS))
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    train = digits("train", args.data_dir, 128).prefetch(4)
    test = digits("test", args.data_dir, 512)
    model = build_classifier()
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train, epochs=args.epochs, shuffle=False, verbose=2)
    minutes = (time.perf_counter() - start) / 60
    accuracy = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_for_inference(model, out / "digit_classifier.keras")
    card = {"mnist_test_accuracy": round(float(accuracy), 4), "epochs": args.epochs,
            "training_minutes": round(minutes, 1), "parameters": model.count_params()}
    (out / "digit_classifier.md").write_text(
        "# Digit classifier (for evaluating revealed MNIST secrets)\n\n"
        "A 4-convolution CNN with a dense layer on 32x32 grayscale digits (MNIST zero-padded from 28x28), "
        "trained on the 60,000 MNIST training digits by `scripts/train_digit_classifier.py`.\n\n"
        f"```json\n{json.dumps(card, indent=2)}\n```\n\n"
        f"MNIST test accuracy: {accuracy:.2%} on the 10,000 test digits.\n"
        f"Reproduce: `python scripts/train_digit_classifier.py --epochs {args.epochs}`\n"
    )
    print(f"MNIST test accuracy {accuracy:.4f}; saved in {out}")


if __name__ == "__main__":
    main()
