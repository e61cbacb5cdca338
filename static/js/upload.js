// Uploads: images chosen or dropped (several at once) are encoded by the server; each lands on
// the map as a star, with its reconstruction, anomaly score and nearest items.

import { api } from "./api.js";
import { can, imageCaption, nearestOf } from "./capabilities.js";
import { map } from "./explorer-map.js";
import { renderGallery } from "./places.js";
import { goTo, showPlace } from "./preview.js";
import { on, state } from "./state.js";
import { $, busy, clearError, el, fmt, showError, toast } from "./ui.js";

const root = $("#panel-upload");
const list = $("#upload-list");
const input = $("#upload-input");
const K = 8;
const BATCH = 8;
let uploads = []; // EncodedOut items, newest last

function setup() {
  input.addEventListener("change", () => {
    upload([...input.files]);
    input.value = "";
  });
  // Images dropped on the map land there too.
  for (const zone of [$("#dropzone"), $("#map-wrap")]) {
    zone.addEventListener("dragover", (event) => {
      if (![...event.dataTransfer.types].includes("Files")) return;
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      upload([...event.dataTransfer.files]);
    });
  }
  on("projection", drawOnMap);
}

export async function upload(files) {
  if (!can.encode) {
    // The panel is hidden then, but the map still takes dropped files.
    toast("This model has no encoder (precomputed embeddings): images cannot be placed on its map.");
    return;
  }
  const images = files.filter((f) => f.type.startsWith("image/") || /\.(png|jpe?g|gif|webp|bmp)$/i.test(f.name));
  if (!images.length) {
    showError(root, "None of those files is an image (PNG, JPEG, GIF, WebP or BMP).");
    return;
  }
  clearError(root);
  const first = uploads.length;
  const status = $("#upload-status");
  try {
    // A few at a time: each answer lands on the map at once, and no request hits the
    // server's per-request image limit.
    for (let done = 0; done < images.length; done += BATCH) {
      status.textContent = `Encoding ${Math.min(done + BATCH, images.length)} of ${images.length} image${images.length === 1 ? "" : "s"}…`;
      const answer = await busy(root, api.encode(state.model, images.slice(done, done + BATCH), K));
      uploads.push(...answer.items);
      drawOnMap();
      renderCards();
    }
  } catch (error) {
    showError(root, error);
  } finally {
    status.textContent = "";
  }
  if (uploads.length > first) focus(first);
}

function drawOnMap() {
  map.setOverlay("uploads", uploads.map((u) => u.positions[state.projection]));
}

function percentText(p) {
  return `${p >= 99.95 ? ">99.9" : fmt(p, p < 10 ? 1 : 0)}%`;
}

function renderCards() {
  list.replaceChildren(
    ...uploads
      .map((item, i) => {
        const unusual = item.error_percentile >= 95;
        // Without a decoder: no reconstruction and no score, and the image is the nearest item's.
        const nearest = nearestOf(item);
        const scored = item.error_percentile !== null && item.error_percentile !== undefined;
        return el(
          "article",
          { class: "upload-card", dataset: { index: String(i) } },
          el(
            "div",
            { class: "upload-head" },
            el("figure", {}, el("img", { class: "pixel", src: item.input, alt: "upload as the model sees it" }), el("figcaption", { text: "input" })),
            el(
              "figure",
              {},
              item.image ? el("img", { class: "pixel", src: item.image, alt: nearest ? imageCaption(nearest) : "reconstruction" }) : null,
              el("figcaption", { text: nearest ? imageCaption(nearest, { lower: true }) : "reconstruction" }),
            ),
            el(
              "div",
              { class: "upload-facts" },
              el("p", { text: item.filename || `upload ${i + 1}` }),
              scored
                ? el(
                    "p",
                    {},
                    "Anomaly score: ",
                    el("span", { class: `score${unusual ? " high" : ""}`, text: percentText(item.error_percentile) }),
                  )
                : null,
              el("p", {
                class: "muted",
                text: scored
                  ? `Reconstructed worse than ${percentText(item.error_percentile)} of the dataset (error ${fmt(item.reconstruction_error, 4)}).${unusual ? " Unlike what the model was trained on." : ""}`
                  : "No anomaly score: this model has no decoder to reconstruct the image.",
              }),
              el("button", { type: "button", class: "button small", text: "Show in preview", onclick: () => focus(i) }),
            ),
          ),
          el("p", { class: "subhead", text: "Nearest items" }),
          el("div", { class: "gallery neighbours" }),
        );
      })
      .reverse(), // newest first
  );
  for (const card of list.children) {
    const item = uploads[Number(card.dataset.index)];
    renderGallery(card.querySelector(".gallery"), item.neighbours, (id) => goTo({ id }));
  }
}

/** Make upload i the current place and highlight its neighbours on the map. */
function focus(i) {
  const item = uploads[i];
  if (!item) return;
  for (const card of list.children) card.classList.toggle("current", Number(card.dataset.index) === i);
  map.setOverlayIds("neighbours", item.neighbours.ids);
  showPlace({
    ref: { latent: item.latent },
    image: item.image,
    latent: item.latent,
    positions: item.positions,
    label: `upload: ${item.filename || `image ${i + 1}`}`,
    nearest: nearestOf(item),
  });
}

function reset() {
  uploads = [];
  list.replaceChildren();
  clearError(root);
  map.setOverlay("uploads", []);
}

export const panel = { name: "upload", label: "Upload", setup, reset, restore: () => {} };
