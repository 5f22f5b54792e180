// pixinpix in the browser: hide and reveal with the model's ONNX image graphs in onnxruntime-web.
// Served by `pixinpix web` (pixinpix_tf/web.py): /model.json, the graphs in /model/, onnxruntime-web in /ort/.
// hide_image.onnx: cover (H, W, 3) uint8, secret (H, W, C) uint8 -> stego (H, W, 3) uint8.
// reveal_image.onnx: stego (H, W, 3) uint8 -> revealed (H, W, C) uint8.
// The images are decoded, run and encoded here; nothing is sent anywhere.
const $ = (id) => document.getElementById(id);
let ort, model, sessions;

function say(text, state) {
  $("status").textContent = text;
  $("status").className = state === "error" ? "error" : "";
  if (state) document.body.dataset.state = state;
}

async function start() {
  const started = performance.now();
  model = await (await fetch("model.json")).json();
  $("model-name").textContent = model.name;
  const adapter = navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  ort = await import(adapter ? "./ort/ort.webgpu.min.mjs" : "./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
  ort.env.wasm.numThreads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  ort.env.wasm.proxy = !adapter;  // run the wasm in a worker: the page stays responsive during a run
  const graphs = await Promise.all(["hide_image", "reveal_image"].map(
    async (name) => new Uint8Array(await (await fetch(`model/${name}.onnx`)).arrayBuffer())));
  const open = (providers) => Promise.all(graphs.map(
    (graph) => ort.InferenceSession.create(graph, { executionProviders: providers })));
  let providers = adapter ? ["webgpu", "wasm"] : ["wasm"];
  try {
    sessions = await open(providers);
  } catch (error) {
    if (!adapter) throw error;
    providers = ["wasm"];  // WebGPU is there but cannot run these graphs
    sessions = await open(providers);
  }
  const threads = ort.env.wasm.numThreads > 1 ? `, ${ort.env.wasm.numThreads} threads` : ", 1 thread";
  document.body.dataset.readyMs = Math.round(performance.now());
  $("hide").disabled = $("reveal").disabled = false;
  say(`Ready: ${model.name} on ${providers[0]}${providers[0] === "wasm" ? threads : ""}, ` +
      `loaded in ${((performance.now() - started) / 1000).toFixed(2)} s`, "ready");
}

async function readImage(file) {
  try {
    return await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new Error(`${file.name}: not an image file the browser can read`);
  }
}

function checkSize(what, image) {  // the messages of pixinpix_tf.inference.tiling
  const side = model.min_side;
  if (image.width < side || image.height < side) {
    throw new Error(`the ${what} is ${image.width}x${image.height}; it must be at least ${side}x${side}`);
  }
}

// An image (drawn at width x height, resized with high-quality smoothing if it differs) as a uint8 HWC tensor;
// alpha is dropped and one channel is luma (ITU-R 601), as pixinpix_tf.images does.
function toTensor(image, width, height, channels) {
  const context = new OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
  context.imageSmoothingQuality = "high";
  context.drawImage(image, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0, j = 0; i < rgba.length; i += 4) {
    if (channels === 3) {
      data[j++] = rgba[i]; data[j++] = rgba[i + 1]; data[j++] = rgba[i + 2];
    } else {
      data[j++] = Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]);
    }
  }
  return new ort.Tensor("uint8", data, [height, width, channels]);
}

// Draw a uint8 HWC tensor in `canvas` and offer it as a PNG download under `link`.
function show(tensor, canvas, link, filename) {
  const [height, width, channels] = tensor.dims;
  const image = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = tensor.data[i * channels + (channels === 1 ? 0 : c)];
    image.data[i * 4 + 3] = 255;
  }
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(image, 0, 0);
  canvas.toBlob((blob) => {
    URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    link.hidden = false;
  }, "image/png");
}

// Run `session` on `feeds`, with the elapsed time in the status line (a whole image is one call).
async function run(verb, session, feeds) {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  say(`${verb}… 0.0 s`, "busy");
  const timer = setInterval(() => say(`${verb}… ${seconds()} s`), 100);
  try {
    const outputs = await session.run(feeds);
    document.body.dataset.lastRunMs = Math.round(performance.now() - started);
    return [outputs, seconds()];
  } finally {
    clearInterval(timer);
  }
}

const stem = (file) => file.name.replace(/\.[^.]*$/, "");

// Keyed hiding, as pixinpix_tf/keys.py specifies it (model.key has its constants): the key is
// PBKDF2-HMAC-SHA256 of the passphrase; words of SHA-256(key || 8-byte counter) move the image's blocks
// (each shape among its own), turn and flip them. The passphrase stays in this page.
async function deriveKey(passphrase) {
  const bytes = new TextEncoder().encode(passphrase);
  const base = await crypto.subtle.importKey("raw", bytes, "PBKDF2", false, ["deriveBits"]);
  const salt = new TextEncoder().encode(model.key.salt);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: model.key.iterations }, base, 256));
}

function keyedRandom(derived) {
  let counter = 0, words = [];
  const word = async () => {
    if (!words.length) {
      const input = new Uint8Array(derived.length + 8);
      input.set(derived);
      new DataView(input.buffer).setBigUint64(derived.length, BigInt(counter++));
      const digest = new DataView(await crypto.subtle.digest("SHA-256", input));
      words = Array.from({ length: 8 }, (_, i) => digest.getUint32(4 * i)).reverse();
    }
    return words.pop();
  };
  const below = async (n) => {  // uniform in [0, n), by rejection
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) { const w = await word(); if (w < limit) return w % n; }
  };
  const permutation = async (n) => {  // Fisher-Yates
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = await below(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    return order;
  };
  return { below, permutation };
}

// The block moves of keys._plan: [source, destination, h, w, turns, flip] with corners as [y, x].
async function keyPlan(derived, height, width) {
  const block = model.key.block, groups = new Map();
  for (let y = 0; y < height; y += block) {
    for (let x = 0; x < width; x += block) {
      const shape = [Math.min(block, height - y), Math.min(block, width - x)];
      const name = shape.join(",");
      if (!groups.has(name)) groups.set(name, { shape, corners: [] });
      groups.get(name).corners.push([y, x]);
    }
  }
  const shapes = [...groups.values()].sort((a, b) => a.shape[0] - b.shape[0] || a.shape[1] - b.shape[1]);
  const random = keyedRandom(derived), moves = [];
  for (const { shape: [h, w], corners } of shapes) {
    const order = await random.permutation(corners.length);
    for (let i = 0; i < corners.length; i++) {
      const turns = h === w ? await random.below(4) : 2 * await random.below(2);
      const flip = (await random.below(2)) === 1;
      moves.push([corners[order[i]], corners[i], h, w, turns, flip]);
    }
  }
  return moves;
}

// Where pixel (i, j) of an h x w source block lands in the destination block after np.rot90(block, turns)
// (counter-clockwise quarter turns) and then a left-right flip.
function moved(i, j, h, w, turns, flip) {
  let [y, x, bh, bw] = [i, j, h, w];
  for (let t = 0; t < turns; t++) [y, x, bh, bw] = [bw - 1 - x, y, bw, bh];
  return [y, flip ? bw - 1 - x : x];
}

// keys.scramble (inverse false) or keys.unscramble (inverse true) of a uint8 HWC tensor.
async function scramble(tensor, passphrase, inverse) {
  const [height, width, channels] = tensor.dims;
  const blocks = Math.ceil(height / model.key.block) * Math.ceil(width / model.key.block);
  if (blocks < model.key.min_blocks) {
    const side = 4 * model.key.block;
    throw new Error(`a key scrambles ${model.key.block}x${model.key.block} blocks; a ${width}x${height} image ` +
                    `has ${blocks}, too few to hide anything: use a cover of at least ${side}x${side}`);
  }
  const moves = await keyPlan(await deriveKey(passphrase), height, width);
  const source = tensor.data, out = new Uint8Array(source.length);
  for (const [[sy, sx], [dy, dx], h, w, turns, flip] of moves) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const [y, x] = moved(i, j, h, w, turns, flip);
        const [from, to] = [((sy + i) * width + sx + j) * channels, ((dy + y) * width + dx + x) * channels];
        for (let c = 0; c < channels; c++) {
          if (inverse) out[from + c] = source[to + c]; else out[to + c] = source[from + c];
        }
      }
    }
  }
  return new ort.Tensor("uint8", out, tensor.dims);
}

async function hide() {
  const [coverFile, secretFile] = [$("cover").files[0], $("secret").files[0]];
  if (!coverFile || !secretFile) throw new Error("pick a cover image and a secret image");
  const [cover, secret] = [await readImage(coverFile), await readImage(secretFile)];
  checkSize("cover", cover);
  const { width, height } = cover;
  const passphrase = $("key").value;
  let secretTensor = toTensor(secret, width, height, model.secret_channels);
  if (passphrase) secretTensor = await scramble(secretTensor, passphrase, false);
  const feeds = { cover: toTensor(cover, width, height, 3), secret: secretTensor };
  const [{ stego }, seconds] = await run(`Hiding in ${width}x${height}`, sessions[0], feeds);
  show(stego, $("stego-canvas"), $("download-stego"), `${stem(coverFile)}-stego.png`);
  say(`Hidden in ${seconds} s: ${width}x${height} stego image. Download it as a PNG.`, "hidden");
}

async function reveal() {
  const file = $("stego").files[0];
  if (!file) throw new Error("pick a stego PNG");
  const stego = await readImage(file);
  checkSize("stego image", stego);
  const passphrase = $("key").value;
  const [{ revealed: scrambled }, seconds] = await run(`Revealing ${stego.width}x${stego.height}`, sessions[1],
    { stego: toTensor(stego, stego.width, stego.height, 3) });
  const revealed = passphrase ? await scramble(scrambled, passphrase, true) : scrambled;
  show(revealed, $("revealed-canvas"), $("download-revealed"), `${stem(file).replace(/-stego$/, "")}-revealed.png`);
  say(`Revealed in ${seconds} s.`, "revealed");
}

function button(id, job) {
  $(id).addEventListener("click", async () => {
    $("hide").disabled = $("reveal").disabled = true;
    try {
      await job();
    } catch (error) {
      say(String(error.message || error).split(/\s+/).join(" "), "error");
    } finally {
      $("hide").disabled = $("reveal").disabled = false;
    }
  });
}

// Each file input: a preview of the chosen image, and drag-and-drop onto its label.
for (const input of document.querySelectorAll("input[type=file]")) {
  const label = input.closest("label");
  const preview = label.querySelector("img");
  input.addEventListener("change", () => {
    URL.revokeObjectURL(preview.src);
    preview.src = input.files[0] ? URL.createObjectURL(input.files[0]) : "";
  });
  label.addEventListener("dragover", (event) => { event.preventDefault(); label.classList.add("over"); });
  label.addEventListener("dragleave", () => label.classList.remove("over"));
  label.addEventListener("drop", (event) => {
    event.preventDefault();
    label.classList.remove("over");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change"));
  });
}
button("hide", hide);
button("reveal", reveal);
start().catch((error) => say(`cannot load the model: ${String(error.message || error).split(/\s+/).join(" ")}`,
  "error"));
