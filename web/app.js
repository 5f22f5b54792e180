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

function checkSize(what, image) {  // the messages of pixinpix_tf.tiling
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

async function hide() {
  const [coverFile, secretFile] = [$("cover").files[0], $("secret").files[0]];
  if (!coverFile || !secretFile) throw new Error("pick a cover image and a secret image");
  const [cover, secret] = [await readImage(coverFile), await readImage(secretFile)];
  checkSize("cover", cover);
  const { width, height } = cover;
  const feeds = { cover: toTensor(cover, width, height, 3),
                  secret: toTensor(secret, width, height, model.secret_channels) };
  const [{ stego }, seconds] = await run(`Hiding in ${width}x${height}`, sessions[0], feeds);
  show(stego, $("stego-canvas"), $("download-stego"), `${stem(coverFile)}-stego.png`);
  say(`Hidden in ${seconds} s: ${width}x${height} stego image. Download it as a PNG.`, "hidden");
}

async function reveal() {
  const file = $("stego").files[0];
  if (!file) throw new Error("pick a stego PNG");
  const stego = await readImage(file);
  checkSize("stego image", stego);
  const [{ revealed }, seconds] = await run(`Revealing ${stego.width}x${stego.height}`, sessions[1],
    { stego: toTensor(stego, stego.width, stego.height, 3) });
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
