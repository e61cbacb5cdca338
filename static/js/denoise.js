// The denoising demo in the upload panel: the selected item (or the newest upload) corrupted
// with seeded noise, then the dae's and the plain AE's outputs beside it, each with its PSNR
// against the clean image. The server picks the dae and ae on the shown model's items
// (POST /api/denoise) and says in words when the workspace lacks one.

import { api } from "./api.js";
import { state } from "./state.js";
import { $, busy, clearError, el, fmt, latestOnly, showError } from "./ui.js";

const root = $("#denoise");
const source = $("#denoise-source");
const kind = $("#denoise-kind");
const level = $("#denoise-level");
const seed = $("#denoise-seed");
const result = $("#denoise-result");
const note = $("#denoise-note");
const latest = latestOnly();
let upload = null; // the newest uploaded File, or null

function setup() {
  level.addEventListener("input", () => ($("#denoise-level-out").value = Number(level.value).toFixed(2)));
  $("#denoise-run").addEventListener("click", run);
  // A new noise setting on a result already shown redraws it: the demo is about the change.
  for (const control of [kind, level, seed]) control.addEventListener("change", () => result.hidden || run());
}

/** The upload panel's newest image: the demo can corrupt it instead of the selected item. */
export function offerUpload(file) {
  upload = file;
  const option = source.querySelector('option[value="upload"]');
  option.disabled = false;
  option.textContent = `the newest upload (${file.name})`;
}

function form() {
  const body = new FormData();
  body.append("kind", kind.value);
  body.append("level", level.value);
  body.append("seed", String(Math.max(0, Math.round(Number(seed.value) || 0))));
  body.append("model", state.model);
  if (source.value === "upload" && upload) {
    body.append("file", upload, upload.name);
    return body;
  }
  const id = state.here && state.here.id;
  if (id === undefined || id === null) return null;
  body.append("item", String(id));
  return body;
}

async function run() {
  const body = form();
  if (!body) {
    showError(root, "Select an item on the map first (click a point), or choose the newest upload.");
    return;
  }
  clearError(root);
  let answer;
  try {
    answer = await latest(busy(root, api.denoise(body)));
  } catch (error) {
    result.hidden = true;
    note.textContent = "";
    showError(root, error);
    return;
  }
  if (typeof answer === "symbol") return; // a newer request is on its way
  show(answer);
}

function figure(src, caption, psnr) {
  return el(
    "figure",
    { dataset: { psnr: psnr === undefined ? "" : String(psnr) } },
    el("img", { class: "pixel", src, alt: caption }),
    el("figcaption", {}, caption, psnr === undefined ? null : el("span", { class: "psnr", text: `${fmt(psnr, 1)} dB` })),
  );
}

function show(answer) {
  const what = answer.item === null ? "the upload" : `item ${answer.item}`;
  note.textContent = `${what}, ${answer.kind} noise at ${fmt(answer.level, 2)}, seed ${answer.seed}: dae ${answer.dae}, ae ${answer.ae}`;
  result.replaceChildren(
    figure(answer.clean, "clean"),
    figure(answer.corrupted.image, "corrupted", answer.corrupted.psnr),
    figure(answer.dae_output.image, "dae output", answer.dae_output.psnr),
    figure(answer.ae_output.image, "ae output", answer.ae_output.psnr),
  );
  result.hidden = false;
}

function reset() {
  result.hidden = true;
  result.replaceChildren();
  note.textContent = "";
  clearError(root);
}

export const denoise = { setup, reset };
