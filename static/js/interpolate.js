// Interpolation: two endpoints, lerp or slerp, a number of steps; the path on the map, the
// frames as a strip, and a slider that scrubs along it (showing each frame in the preview).
// Without a decoder each frame is the nearest real item's image (or name, with no images).

import { api } from "./api.js";
import { imageCaption, nearestOf } from "./capabilities.js";
import { map } from "./explorer-map.js";
import { Slot } from "./places.js";
import { saveImageGrid } from "./png.js";
import { markImage } from "./data-distance.js";
import { showPlace } from "./preview.js";
import { on, save, state } from "./state.js";
import { $, $$, boundedNumber, busy, clearError, el, latestOnly, showError, STALE } from "./ui.js";

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
  boundedNumber($("#interp-steps"), { lo: 2, hi: 64, fallback: 8, what: "Steps" }, (steps) => {
    state.interp.steps = steps;
    save();
  });
  $("#interp-run").addEventListener("click", () => run());
  slider.addEventListener("input", () => scrub(Number(slider.value)));
  $("#interp-png").addEventListener("click", saveStrip);
  // The same latent path on the linear map, where frames are evenly spread along a line.
  $("#interp-on-pca").addEventListener("click", () => $('input[name="projection"][value="pca"]').click());
  on("projection", () => {
    if (path) run({ preview: false }); // positions differ per projection: ask the server again
  });
}

/** Ask for the path and show it; `preview`: the first frame goes to the preview (a press of
 * Interpolate; not when a link or a new projection redraws it). */
export async function run({ preview = true } = {}) {
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
  const n = path.images.length;
  // Every frame in view at once: the strip wraps into rows and each frame shrinks to fit
  // (CSS), the two ends captioned.
  strip.replaceChildren(
    ...path.images.map((src, i) => {
      const attrs = {
        class: src ? "pixel" : "frame-name",
        title: `frame ${i + 1}${nearest[i] ? `: ${imageCaption(nearest[i], { lower: true })}` : ""}`,
        dataset: { index: String(i), nearestId: nearest[i] ? String(nearest[i].id) : "" },
        onclick: () => scrub(i),
        onmouseenter: () => pointAt(i),
        onmouseleave: () => pointAt(Number(slider.value)),
      };
      const frame = markImage(
        src
          ? el("img", { ...attrs, src, alt: `frame ${i + 1} of ${n}` })
          : el("button", { type: "button", ...attrs, text: nearest[i].name }),
        path.data_distances && path.data_distances[i],
      );
      const caption = i === 0 ? "Start" : i === n - 1 ? "End" : String(i + 1);
      return el("figure", { class: `frame${i === 0 || i === n - 1 ? " end" : ""}` }, frame, el("figcaption", { text: caption }));
    }),
  );
  $("#interp-outside").hidden = !strip.querySelector(".dd-between, .dd-far");
  slider.max = String(n - 1);
  $("#interp-result").hidden = false;
  const pca = $('input[name="projection"][value="pca"]');
  $("#interp-on-pca").hidden = state.projection === "pca" || !pca || pca.disabled;
  map.setOverlay("path", path.positions);
  scrub(0, { preview }); // the highlighted frame is the one in the preview
}

/** Mark frame i on the map (a hovered frame, or the current one again). */
function pointAt(i) {
  if (path && path.positions[i]) map.setOverlay("frame", [path.positions[i]]);
}

function scrub(i, { preview = true } = {}) {
  if (!path) return;
  slider.value = String(i);
  $("#interp-frame-out").textContent = `${i + 1} of ${path.images.length}`;
  [...strip.children].forEach((figure, j) => {
    figure.classList.toggle("current", i === j);
    figure.firstElementChild.classList.toggle("current", i === j);
  });
  pointAt(i);
  if (!preview) return;
  showPlace(
    {
      ref: { latent: path.latents[i] },
      image: path.images[i],
      latent: path.latents[i],
      positions: { [path.projection]: path.positions[i] },
      label: `interpolation frame ${i + 1} of ${path.images.length} (${path.method})`,
      nearest: nearestOf(path, i),
      dataDistance: path.data_distances && path.data_distances[i],
    },
    { quiet: true },
  );
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
  if (state.interp.run && start.ref && end.ref) run({ preview: false });
}

export const panel = { name: "interpolate", label: "Interpolate", setup, reset: clear, restore };
