// vaekit explorer: draws the latent map (SVG) and the decodes the server returns: images on canvases for an
// image run, sentences for a text run (info.kind === "text"). Sentences are set as textContent, never as HTML.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const SVG_NS = "http://www.w3.org/2000/svg";
const HOMOTOPY_STEPS = 7;
const state = { info: null, view: null, start: 0, end: 1, base: null, latents: [], sampleSeed: 0 };
const isText = () => state.info.kind === "text";

async function postJSON(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(body) });
  const payload = await response.json();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${payload.detail}`);
  return payload;
}

// One request in flight per view; while it runs only the latest asked-for request waits (drags stay live).
function latestOnly(run) {
  let busy = false, pending = null;
  return async function request(...args) {
    if (busy) { pending = args; return; }
    busy = true;
    try { await run(...args); } catch (error) { console.error(error); }
    busy = false;
    if (pending) { const next = pending; pending = null; request(...next); }
  };
}

// pixels: flat channel-major (C, H, W) values in [0, 1], drawn at native size (CSS scales it up).
function drawPixels(canvas, pixels) {
  const [channels, height, width] = state.info.image_shape;
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      image.data[4 * i + c] = Math.round(255 * pixels[(channels === 3 ? c : 0) * plane + i]);
    }
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

function newCanvas() { const canvas = document.createElement("canvas"); canvas.className = "pixels"; return canvas; }

// A sentence as text; CSS marks an empty one and one cut at the length bound without <eos>.
function showSentence(element, sentence, truncated = false) {
  element.textContent = sentence;
  element.classList.add("sentence");
  element.classList.toggle("empty", sentence === "");
  element.classList.toggle("truncated", truncated);
}

// Decode `index` of a server result into the elements `${prefix}-mean`/`-sample` (images) or
// `${prefix}-greedy`/`-sampled` (sentences); a view without a sample element shows the mean or greedy one only.
function showDecode(prefix, result, index = 0) {
  const sample = document.getElementById(`${prefix}-${isText() ? "sampled" : "sample"}`);
  if (isText()) {
    showSentence(document.getElementById(`${prefix}-greedy`), result.greedy[index], result.truncated[index]);
    if (sample) showSentence(sample, result.sampled[index]);
  } else {
    drawPixels(document.getElementById(`${prefix}-mean`), result.means[index]);
    if (sample) drawPixels(sample, result.samples[index]);
  }
}

// ---- latent map -------------------------------------------------------------------------------
function mapView(info, size) {
  let xs = info.points.map(p => p[0]), ys = info.points.map(p => p[1]);
  if (info.prior_circles) {
    const [cx, cy] = info.prior_circles.center;
    xs = xs.concat([cx - 2, cx + 2]); ys = ys.concat([cy - 2, cy + 2]);
  }
  const low = [Math.min(...xs), Math.min(...ys)], high = [Math.max(...xs), Math.max(...ys)];
  const span = Math.max(high[0] - low[0], high[1] - low[1]) * 1.1 || 1;
  const mid = [(low[0] + high[0]) / 2, (low[1] + high[1]) / 2];
  const scale = size / span;
  return {
    scale,
    toScreen: ([x, y]) => [size / 2 + (x - mid[0]) * scale, size / 2 - (y - mid[1]) * scale],
    toMap: ([u, v]) => [mid[0] + (u - size / 2) / scale, mid[1] - (v - size / 2) / scale],
  };
}

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

// Sentence length in words → a colour from blue (shortest on the map) to orange (longest).
function lengthColour(info, length) {
  const low = Math.min(...info.lengths), high = Math.max(...info.lengths);
  return `hsl(${Math.round(220 - 190 * (length - low) / (high - low || 1))}, 75%, 42%)`;
}

function legendEntry(colour, text) {
  const entry = document.createElement("span");
  entry.className = "legend-entry";
  entry.style.color = colour;
  entry.textContent = `● ${text}`;
  return entry;
}

function drawLegend(info) {
  const legend = document.getElementById("legend");
  if (isText()) {
    const low = Math.min(...info.lengths), high = Math.max(...info.lengths);
    legend.append("Colour: sentence length (the test set has no labels) ",
                  legendEntry(lengthColour(info, low), `${low} words`),
                  legendEntry(lengthColour(info, high), `${high} words`));
    return;
  }
  for (const label of [...new Set(info.labels || [])].sort((a, b) => a - b)) {
    legend.appendChild(legendEntry(PALETTE[label % 10], label));
  }
}

function showTestSentence(index) {
  const hover = document.getElementById("map-hover");
  hover.dataset.index = index;
  showSentence(hover, state.info.sentences[index]);
}

function drawMap(info) {
  const svg = document.getElementById("latent-map");
  const size = svg.width.baseVal.value;
  state.view = mapView(info, size);
  if (info.prior_circles) {
    const [cx, cy] = state.view.toScreen(info.prior_circles.center);
    for (const radius of info.prior_circles.radii) {
      svg.appendChild(svgElement("circle", { cx, cy, r: radius * state.view.scale, fill: "none",
        stroke: "#444", "stroke-dasharray": "4 3", class: "prior-circle" }));
    }
  }
  info.points.forEach((point, index) => {
    const [cx, cy] = state.view.toScreen(point);
    const fill = isText() ? lengthColour(info, info.lengths[index])
                          : PALETTE[(info.labels ? info.labels[index] : 0) % 10];
    svg.appendChild(svgElement("circle", { cx, cy, r: isText() ? 3 : 2.2, fill, "fill-opacity": 0.7, class: "code",
                                           "data-index": index }));
  });
  drawLegend(info);
  state.marker = svgElement("circle", { cx: -10, cy: -10, r: 6, fill: "none", stroke: "#000",
                                        "stroke-width": 2, id: "map-marker" });
  svg.appendChild(state.marker);
  const decodeAt = latestOnly(async point => {
    const began = performance.now();
    const result = await postJSON("/api/decode", { points: [point] });
    showDecode("map", result);
    const z = document.getElementById("map-z");
    z.dataset.latent = JSON.stringify(result.latents[0]);
    z.textContent = "z = [" + result.latents[0].map(v => v.toFixed(3)).join(", ") + "]";
    document.getElementById("latency").textContent =
      `round trip ${(performance.now() - began).toFixed(1)} ms`;
  });
  const pointerAt = event => {
    const box = svg.getBoundingClientRect();
    const screen = [event.clientX - box.left, event.clientY - box.top];
    state.marker.setAttribute("cx", screen[0]); state.marker.setAttribute("cy", screen[1]);
    decodeAt(state.view.toMap(screen));
  };
  const showCode = event => {         // a text run: the test sentence of the dot under the pointer
    if (isText() && event.target.classList.contains("code")) showTestSentence(Number(event.target.dataset.index));
  };
  let dragging = false;
  svg.addEventListener("pointerdown", event => { dragging = true; showCode(event); pointerAt(event); });
  svg.addEventListener("pointerover", showCode);
  svg.addEventListener("pointermove", event => { if (dragging) pointerAt(event); });
  window.addEventListener("pointerup", () => { dragging = false; });
}

// ---- interpolation and homotopy ---------------------------------------------------------------
const interpolateNow = latestOnly(async () => {
  const t = Number(document.getElementById("interp-slider").value) / 100;
  document.getElementById("interp-t").textContent = `t = ${t.toFixed(2)}`;
  const method = document.getElementById("interp-method").value;
  const result = await postJSON("/api/interpolate", { start: state.start, end: state.end, t, method });
  showDecode("interp", result);
  document.getElementById(isText() ? "interp-greedy" : "interp-mean").dataset.t = t;
});

// The greedy decodes along the whole path, one line each (Bowman et al. 2016, Table 8).
const homotopyNow = latestOnly(async () => {
  const method = document.getElementById("interp-method").value;
  const result = await postJSON("/api/homotopy", { start: state.start, end: state.end, steps: HOMOTOPY_STEPS, method });
  document.getElementById("homotopy").replaceChildren(...result.greedy.map((sentence, step) => {
    const row = document.createElement("li"), time = document.createElement("span");
    const words = document.createElement("span");
    time.className = "mono";
    time.textContent = `${result.t[step].toFixed(2)} `;
    showSentence(words, sentence, result.truncated[step]);
    row.append(time, words);
    return row;
  }));
});

function pathChanged() {
  interpolateNow();
  if (isText()) homotopyNow();
}

// Test inputs to pick A and B from: thumbnails of images or lines of sentences.
function choice(example) {
  if (isText()) {
    const line = document.createElement("div");
    line.className = "choice";
    showSentence(line, example.sentence);
    line.title = `test sentence ${example.index}`;
    return line;
  }
  const canvas = newCanvas();
  canvas.title = `test image ${example.index}` + (example.label === null ? "" : ` (label ${example.label})`);
  drawPixels(canvas, example.pixels);
  return canvas;
}

async function buildChoices(info) {
  const strip = document.getElementById("thumbnails");
  const count = Math.min(12, info.points.length);
  let pickStart = true;
  for (let index = 0; index < count; index++) {
    const example = await (await fetch(`/api/${isText() ? "sentences" : "images"}/${index}`)).json();
    state.latents[index] = example.latent;
    const element = choice(example);
    element.dataset.index = index;
    element.addEventListener("click", () => {
      if (pickStart) state.start = index; else state.end = index;
      pickStart = !pickStart;
      state.base = state.latents[state.start];
      markChoices();
      pathChanged();
      traverseNow();
    });
    strip.appendChild(element);
  }
  state.base = state.latents[state.start];
  markChoices();
}

function markChoices() {
  document.getElementById("interp-start").textContent = state.start;
  document.getElementById("interp-end").textContent = state.end;
  for (const element of document.querySelectorAll("#thumbnails [data-index]")) {
    element.classList.toggle("start", Number(element.dataset.index) === state.start);
    element.classList.toggle("end", Number(element.dataset.index) === state.end);
  }
}

// ---- traversals -------------------------------------------------------------------------------
const traverseNow = latestOnly(async () => {
  const latent = state.base.slice();
  for (const slider of document.querySelectorAll("#traversal-sliders input")) {
    latent[Number(slider.dataset.dimension)] += Number(slider.value);
  }
  const result = await postJSON("/api/decode", { latents: [latent] });
  showDecode("traversal", result);
});

function buildTraversals(info) {
  const box = document.getElementById("traversal-sliders");
  for (const dimension of info.dimensions.slice(0, 16)) {
    const row = document.createElement("div");
    row.className = "slider-row" + (dimension.collapsed ? " collapsed" : "");
    const label = document.createElement("label");
    const measure = dimension.kl === null ? `Var μ ${dimension.variance.toFixed(3)}` : `KL ${dimension.kl.toFixed(3)}`;
    label.textContent = `z${dimension.dimension} (${measure})` + (dimension.collapsed ? " collapsed" : "");
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", min: -3, max: 3, step: 0.05, value: 0 });
    slider.dataset.dimension = dimension.dimension;
    slider.addEventListener("input", traverseNow);
    row.append(label, slider);
    box.appendChild(row);
  }
  if (info.dimensions.length > 16) box.append(`(${info.dimensions.length - 16} more dimensions with less KL not shown)`);
}

// ---- samples ----------------------------------------------------------------------------------
async function resample() {
  const result = await postJSON("/api/samples", { num: 8, seed: state.sampleSeed++ });
  if (isText()) {
    document.getElementById("samples-sentences").replaceChildren(...result.greedy.map((sentence, index) => {
      const row = document.createElement("li"), greedy = document.createElement("span");
      const sampled = document.createElement("span");
      showSentence(greedy, sentence, result.truncated[index]);
      showSentence(sampled, result.sampled[index]);
      sampled.classList.add("sampled");
      row.append(greedy, sampled);
      return row;
    }));
  } else {
    for (const [id, images] of [["samples-means", result.means], ["samples-draws", result.samples]]) {
      const grid = document.getElementById(id);
      grid.replaceChildren(...images.map(pixels => { const canvas = newCanvas(); drawPixels(canvas, pixels); return canvas; }));
    }
  }
  document.getElementById("resample").dataset.seed = state.sampleSeed - 1;
}

// ---- start ------------------------------------------------------------------------------------
async function start() {
  const info = await (await fetch("/api/info")).json();
  state.info = info;
  document.body.dataset.kind = info.kind;
  document.getElementById("run-info").textContent =
    `${info.model_kind} on ${info.dataset}, latent dimension ${info.latent_dim} — ${info.run_dir}`;
  const variance = info.explained_variance.map(v => (100 * v).toFixed(1) + "%").join(" + ");
  const codes = isText() ? "test sentences' posterior means" : "test codes";
  document.getElementById("projection-note").textContent = (info.projection === "pca"
    ? `Projection: PCA of the ${info.points.length} ${codes} onto 2 components (${variance} of their variance); ` +
      "a click decodes the point of that plane."
    : `Projection: none — the ${info.latent_dim}-D latent as is, ${info.points.length} ${codes}.`) +
    (info.prior_circles ? " Dashed: the prior's 1σ and 2σ circles." :
     info.has_prior ? "" : " An autoencoder has no prior: decodes away from the codes are garbage.");
  drawMap(info);
  buildTraversals(info);
  document.getElementById("interp-slider").addEventListener("input", () => interpolateNow());
  document.getElementById("interp-method").addEventListener("change", pathChanged);
  await buildChoices(info);
  if (info.has_prior) {
    document.getElementById("resample").addEventListener("click", resample);
    await resample();
  } else {
    document.getElementById("samples-note").textContent = `A ${info.model_kind} has no prior to sample from.`;
    document.getElementById("resample").disabled = true;
  }
  await interpolateNow();
  if (isText()) await homotopyNow();
  await traverseNow();
  document.body.dataset.ready = "true";
}

start();
