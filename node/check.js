// Hide and reveal with pixinpix's ONNX image graphs in Node.js, and compare with the Python runtime.
//
//   node check.js ONNX_DIR COVER.png SECRET.png PYTHON_STEGO.png PYTHON_REVEALED.png [OUT_DIR]
//
// SECRET.png must already have the cover's size (the graphs take images of one size).
// hide_image.onnx: cover (H, W, 3) uint8, secret (H, W, C) uint8 -> stego (H, W, 3) uint8.
// reveal_image.onnx: stego (H, W, 3) uint8 -> revealed (H, W, C) uint8.
// Exits 1 unless Node's stego and revealed images are within one 8-bit level of Python's
// on all but MAX_FRACTION_OFF of the values.
"use strict";
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");
const { PNG } = require("pngjs");

const MAX_FRACTION_OFF = 0.01;

function readRgb(file, channels = 3) {
  const png = PNG.sync.read(fs.readFileSync(file));
  const data = new Uint8Array(png.width * png.height * channels);
  for (let i = 0; i < png.width * png.height; i++) {
    for (let c = 0; c < channels; c++) data[i * channels + c] = png.data[i * 4 + c];
  }
  return { data, width: png.width, height: png.height, channels };
}

function writeRgb(file, image) {
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 3; c++) png.data[i * 4 + c] = image.data[i * image.channels + (image.channels === 1 ? 0 : c)];
    png.data[i * 4 + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

const tensor = (image) => new ort.Tensor("uint8", image.data, [image.height, image.width, image.channels]);

function compare(name, actual, expected) {
  let largest = 0;
  let off = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const difference = Math.abs(actual[i] - expected.data[i]);
    largest = Math.max(largest, difference);
    if (difference) off++;
  }
  const fraction = off / expected.data.length;
  console.log(`${name}: largest difference ${largest} level(s), ${(100 * fraction).toFixed(3)}% of values differ`);
  return largest <= 1 && fraction <= MAX_FRACTION_OFF;
}

async function main() {
  const [onnxDir, coverFile, secretFile, stegoFile, revealedFile, outDir] = process.argv.slice(2);
  if (!revealedFile) {
    console.error("usage: node check.js ONNX_DIR COVER.png SECRET.png PYTHON_STEGO.png PYTHON_REVEALED.png [OUT_DIR]");
    process.exit(2);
  }
  const hide = await ort.InferenceSession.create(path.join(onnxDir, "hide_image.onnx"));
  const reveal = await ort.InferenceSession.create(path.join(onnxDir, "reveal_image.onnx"));
  const cover = readRgb(coverFile);
  const secretChannels = 3;  // the photo models hide RGB secrets
  const secret = readRgb(secretFile, secretChannels);
  if (secret.width !== cover.width || secret.height !== cover.height) {
    console.error(`the secret is ${secret.width}x${secret.height}; resize it to the cover's ${cover.width}x${cover.height}`);
    process.exit(2);
  }
  const stego = (await hide.run({ cover: tensor(cover), secret: tensor(secret) })).stego;
  const pythonStego = readRgb(stegoFile);
  const stegoOk = compare("stego (Node vs Python)", stego.data, pythonStego);
  // Reveal from Python's stego image, so that the two reveals see the same input.
  const revealed = (await reveal.run({ stego: tensor(pythonStego) })).revealed;
  const revealedOk = compare("revealed (Node vs Python)", revealed.data, readRgb(revealedFile));
  if (outDir) {
    const [height, width] = stego.dims;
    writeRgb(path.join(outDir, "node_stego.png"), { data: stego.data, width, height, channels: 3 });
    writeRgb(path.join(outDir, "node_revealed.png"),
      { data: revealed.data, width, height, channels: revealed.dims[2] });
  }
  process.exit(stegoOk && revealedOk ? 0 : 1);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(2);
});
