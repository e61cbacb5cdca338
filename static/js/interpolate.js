// Interpolation: two endpoints, lerp or slerp, a number of steps; the path on the map, the
// frames as a strip, and a slider that scrubs along it (showing each frame in the preview).
// Without a decoder each frame is the nearest real item's image (or name, with no images).

import { api } from "./api.js";
import { imageCaption, nearestOf } from "./capabilities.js";
import { map } from "./explorer-map.js";
import { Slot } from "./places.js";
import { saveImageGrid } from "./png.js";
import { showPlace } from "./preview.js";
import { on, save, state } from "./state.js";
import { $, $$, busy, clearError, el, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-interpolate");
const strip = $("#interp-strip");
const slider = $("#interp-slider");
const guard = latestOnly();
let path = null; // the last InterpolateOut
let start = null; // the endpoint slots
let end = null;

function setup() {
  start = new Slot($("#interp-start"), (ref) => {
    state.interp.start = ref;
    save();
  });
  end = new Slot($("#interp-end"), (ref) => {
    state.interp.end = ref;
    save();
  });
  $$('input[name="interp-method"]').forEach((radio) =>
    radio.addEventListener("change", () => {
      state.interp.method = radio.value;
      save();
    }),
  );
  $("#interp-steps").addEventListener("change", (event) => {
    const steps = Math.round(Number(event.target.value));
    state.interp.steps = Math.min(64, Math.max(2, Number.isFinite(steps) ? steps : 8));
    event.target.value = state.interp.steps;
    save();
  });
  $("#interp-run").addEventListener("click", run);
  slider.addEventListener("input", () => scrub(Number(slider.value)));
  $("#interp-png").addEventListener("click", saveStrip);
  on("projection", () => {
    if (path) run(); // positions differ per projection: ask the server again
  });
}

export async function run() {
  if (!start.ref || !end.ref) {
    showError(root, 'Choose a start and an end first: click the map, then press "Use current", or type an item number.');
    return;
  }
  clearError(root);
  const body = {
    start: start.ref,
    end: end.ref,
    steps: state.interp.steps,
    method: state.interp.method,
    projection: state.projection,
  };
  try {
    const result = await guard(busy(root, api.interpolate(state.model, body)));
    if (result === STALE) return;
    path = result;
  } catch (error) {
    showError(root, error);
    return;
  }
  state.interp.run = true;
  save();
  const nearest = path.images.map((_, i) => nearestOf(path, i));
  $("#interp-source").textContent = nearest[0]
    ? "Nearest real item at each step (this model has no decoder)."
    : "";
  strip.replaceChildren(
    ...path.images.map((src, i) => {
      const attrs = {
        class: src ? "pixel" : "frame-name",
        title: `frame ${i + 1}${nearest[i] ? `: ${imageCaption(nearest[i], { lower: true })}` : ""}`,
        dataset: { index: String(i), nearestId: nearest[i] ? String(nearest[i].id) : "" },
        onclick: () => scrub(i),
      };
      if (!src) return el("button", { type: "button", ...attrs, text: nearest[i].name });
      return el("img", { ...attrs, src, alt: `frame ${i + 1} of ${path.images.length}` });
    }),
  );
  slider.max = String(path.images.length - 1);
  $("#interp-result").hidden = false;
  map.setOverlay("path", path.positions);
  scrub(0, { preview: false });
}

function scrub(i, { preview = true } = {}) {
  if (!path) return;
  slider.value = String(i);
  $("#interp-frame-out").textContent = `${i + 1} of ${path.images.length}`;
  [...strip.children].forEach((frame, j) => frame.classList.toggle("current", i === j));
  map.setOverlay("frame", [path.positions[i]]);
  if (preview) {
    showPlace(
      {
        ref: { latent: path.latents[i] },
        image: path.images[i],
        latent: path.latents[i],
        positions: { [path.projection]: path.positions[i] },
        label: `interpolation frame ${i + 1} of ${path.images.length} (${path.method})`,
        nearest: nearestOf(path, i),
      },
      { quiet: true },
    );
  }
}

export function stripImages() {
  return path ? path.images : null;
}

export async function saveStrip() {
  if (!path) {
    showError(root, "Run an interpolation first.");
    return;
  }
  if (path.images.some((src) => !src)) {
    showError(root, "This model's items have no images: there is no strip to save.");
    return;
  }
  await saveImageGrid([{ label: "", images: path.images }], `interpolation-${state.model}.png`);
}

function clear() {
  path = null;
  strip.replaceChildren();
  $("#interp-source").textContent = "";
  $("#interp-result").hidden = true;
  map.setOverlay("path", []);
  map.setOverlay("frame", []);
}

/** Fill the controls from the state (after a model loads or the URL is read). */
function restore() {
  clear();
  clearError(root);
  start.set(state.interp.start);
  end.set(state.interp.end);
  $$('input[name="interp-method"]').forEach((r) => (r.checked = r.value === state.interp.method));
  $("#interp-steps").value = state.interp.steps;
  if (state.interp.run && start.ref && end.ref) run();
}

export const panel = { name: "interpolate", label: "Interpolate", setup, reset: clear, restore };
