"""Keyed hiding of MNIST digits: how many wrong-key reveals the digit classifier still reads.

A key scrambles 32x32 blocks and needs a cover of at least 128x128, so the 32x32 pairs of MNIST in
CIFAR-10 cannot be keyed as they are. Here each fixed test pair (the ones `pixinpix evaluate
mnist-in-cifar10` uses) is enlarged 4x to 128x128 and hidden through the real keyed path
(`api.hide(..., key=...)`, the default model); each reveal is shrunk back to 32x32 and read by the
shipped digit classifier. Prints its accuracy on the originals, on unkeyed reveals, and on keyed
reveals with the right key, a wrong key and no key (chance: about 10%).

Example:
    TFDS_DATA_DIR=../shared/data/tfds python benchmarks/keyed_digits.py --num 500
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from pixinpix_tf import api, keys

from pixinpix_tf.analysis import evaluate
from pixinpix_tf.config import get_preset

RIGHT, WRONG = keys.Key("benchmark passphrase"), keys.Key("benchmark passphrase!")


def resized(image: np.ndarray, side: int) -> np.ndarray:
    """`image` (uint8, H x W x C) at side x side, bicubic."""
    out = np.asarray(Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
                     .resize((side, side), Image.BICUBIC))
    return out.reshape(side, side, -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num", type=int, default=500, help="test pairs (default: %(default)s)")
    parser.add_argument("--model", default=api.DEFAULT_MODEL, help="the hiding model (default: %(default)s; "
                        "mnist-in-cifar10 reveals enlarged digits poorly: each of its tiles sees a piece of a stroke)")
    args = parser.parse_args()
    cfg = get_preset("paper").replace(cover="cifar10", secret="mnist", test_size=args.num, secret_channels=1)
    covers, secrets, labels = evaluate.test_pairs(cfg)
    model = api.load_method(args.model)
    reveals = {name: [] for name in ("unkeyed", "right key", "wrong key", "no key")}
    for cover, secret in zip(covers, secrets):
        cover, secret = resized(cover, 128), resized(secret, 128)
        secret = np.repeat(secret, model.secret_channels, axis=-1)
        reveals["unkeyed"].append(api.reveal(api.hide(cover, secret, model), model))
        stego = api.hide(cover, secret, model, key=RIGHT)
        for name, key in (("right key", RIGHT), ("wrong key", WRONG), ("no key", None)):
            reveals[name].append(api.reveal(stego, model, key=key))
    classifier = evaluate._digit_classifier(secrets.shape[1:3])
    print(f"{len(labels)} MNIST test digits in CIFAR-10 covers, enlarged to 128x128, {args.model}; digit accuracy:")
    print(f"  originals (32x32)      {evaluate._digit_accuracy(classifier, secrets, labels):.1%}")
    for name, images in reveals.items():
        small = np.stack([resized(image, secrets.shape[1]) for image in images])
        print(f"  {name:22s} {evaluate._digit_accuracy(classifier, small, labels):.1%}")


if __name__ == "__main__":
    main()
