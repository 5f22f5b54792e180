"""TensorFlow's fast CPU path: on by default before TensorFlow's first import, a user's setting wins,
and the numbers are the same either way (to float32 rounding)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import NETWORK_ATOL, TINY_MODEL

# One forward pass and one training step of a tiny PixInPix on fixed inputs, printed as JSON.
SCRIPT = f"""
import json, os, sys
import numpy as np
import pixinpix_tf
from pixinpix_tf import extras
extras.import_tensorflow()
import keras
from pixinpix_tf.nets.model import PixInPix
keras.utils.set_random_seed(0)
model = PixInPix(**{TINY_MODEL!r})
rng = np.random.default_rng(0)
pair = {{k: rng.random((4, 16, 16, 3), dtype=np.float32) for k in ("cover", "secret")}}
before = model(pair, training=False)
model.compile(keras.optimizers.SGD(0.1), loss={{"stego": "mse", "revealed": "mse"}})
model.train_on_batch(pair, {{"stego": pair["cover"], "revealed": pair["secret"]}})
after = model(pair, training=False)
print(json.dumps({{"setting": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                  "before": np.asarray(before["stego"]).ravel().tolist(),
                  "after": np.asarray(after["revealed"]).ravel().tolist()}}))
"""


def run(setting: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_onednn_is_on_by_default_a_users_setting_wins_and_both_compute_the_same():
    default, off = run(None), run("0")
    assert default["setting"] == "1" and off["setting"] == "0"
    for key in ("before", "after"):
        np.testing.assert_allclose(default[key], off[key], atol=NETWORK_ATOL)
