// Uploads: images chosen or dropped (several at once) are encoded by the server; each lands on
// the map as a star (hover it for its name and picture), with its reconstruction, anomaly score
// and nearest items. A file the server refuses gets its own error line; the others their cards.

import { api } from "./api.js";
import { can, imageCaption, nearestOf } from "./capabilities.js";
import { distanceLine } from "./data-distance.js";
import { denoise, offerUpload } from "./denoise.js";
import { map } from "./explorer-map.js";
import { renderGallery } from "./places.js";
import { goTo, showPlace } from "./preview.js";
import { ring, unring } from "./rings.js";
import { showCard } from "./tooltip.js";
import { invertedFile, oppositePolarity, timesMedian } from "./upload-checks.js";
import { emit, on, state } from "./state.js";
import { $, busy, clearError, el, fmt, showError, toast } from "./ui.js";

const root = $("#panel-upload");
const list = $("#upload-list");
const failures = $("#upload-failures");
const input = $("#upload-input");
const K = 8;
const BATCH = 8;
let uploads = []; // {item: EncodedOut, file: File, inverse: bool | null}, newest last

function setup() {
  denoise.setup();
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
  // An upload's rings go when another place is shown.
  on("here", (place) => {
    if (!uploads.some((u) => u.item.latent === place.ref.latent)) unring("upload");
  });
  map.on("overlayhover", (name, index, event) => {
    if (name === "uploads" && uploads[index]) showCard(uploadCard(uploads[index], index), event);
  });
}

/** Encode `files` a batch at a time; a refused batch is tried file by file, so one bad file
 * costs only its own card. Answers {uploads, failed: [[file, message]]}. */
async function encodeAll(files, status) {
  const done = [];
  const failed = [];
  for (let start = 0; start < files.length; start += BATCH) {
    status.textContent = `Encoding ${Math.min(start + BATCH, files.length)} of ${files.length} image${files.length === 1 ? "" : "s"}…`;
    const batch = files.slice(start, start + BATCH);
    try {
      const answer = await busy(root, api.encode(state.model, batch, K));
      answer.items.forEach((item, i) => done.push({ item, file: batch[i] }));
    } catch (error) {
      if (error.status < 400 || error.status >= 500 || batch.length === 1) {
        if (batch.length === 1) failed.push([batch[0], error.message]);
        else throw error;
        continue;
      }
      for (const file of batch) {
        try {
          const answer = await busy(root, api.encode(state.model, [file], K));
          done.push({ item: answer.items[0], file });
        } catch (single) {
          failed.push([file, single.message]);
        }
      }
    }
  }
  return { done, failed };
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
  failures.replaceChildren();
  const status = $("#upload-status");
  let result = { done: [], failed: [] };
  try {
    result = await encodeAll(images, status);
  } catch (error) {
    showError(root, error);
  } finally {
    status.textContent = "";
  }
  failures.replaceChildren(
    // The server's message may name the file already.
    ...result.failed.map(([file, message]) =>
      el("li", {}, el("strong", { text: file.name }), `: ${message.startsWith(`${file.name}: `) ? message.slice(file.name.length + 2) : message}`),
    ),
  );
  if (!result.done.length) return;
  const added = result.done.map((u) => ({ ...u, inverse: null }));
  uploads.push(...added);
  offerUpload(added[added.length - 1].file);
  drawOnMap();
  renderCards();
  focus(uploads.length - 1); // the card on top
  checkPolarity(added);
}

function drawOnMap() {
  map.setOverlay("uploads", uploads.map((u) => u.item.positions[state.projection]));
  emit("uploads");
}

/** The uploads' encode answers, oldest first (the Anomaly tab scores them). */
export const uploaded = () => uploads.map((u) => u.item);

function percentText(p) {
  return `${p >= 99.95 ? ">99.9" : fmt(p, p < 10 ? 1 : 0)}%`;
}

/** The score line: the error against the dataset's median (it keeps separating a clean
 * drawing from noise where the percentile is past 99.9), and the percentile. */
function scoreFacts(item) {
  const scored = item.error_percentile !== null && item.error_percentile !== undefined;
  if (!scored) return [el("p", { class: "muted", text: "No anomaly score: this model has no decoder to reconstruct the image." })];
  const unusual = item.error_percentile >= 95;
  const times = timesMedian(item.reconstruction_error);
  const percentile = item.error_percentile >= 99.95
    ? "worse than every item of the dataset"
    : `worse than ${percentText(item.error_percentile)} of the dataset`;
  return [
    el(
      "p",
      {},
      "Anomaly score: ",
      el("span", { class: `score${unusual ? " high" : ""}`, text: times ? times.text : percentText(item.error_percentile) }),
    ),
    el("p", {
      class: "muted",
      text: `Reconstruction error ${fmt(item.reconstruction_error, 4)}, ${percentile}.${unusual ? " Unlike what the model was trained on." : ""}`,
    }),
  ];
}

function renderCards() {
  list.replaceChildren(
    ...uploads
      .map(({ item }, i) => {
        // Without a decoder: no reconstruction and no score, and the image is the nearest item's.
        const nearest = nearestOf(item);
        return el(
          "article",
          { class: "upload-card", dataset: { index: String(i) } },
          el(
            "div",
            { class: "upload-head" },
            el("figure", {}, el("img", { class: "pixel input", src: item.input, alt: "upload as the model sees it" }), el("figcaption", { text: "input" })),
            el(
              "figure",
              {},
              item.image ? el("img", { class: "pixel", src: item.image, alt: nearest ? imageCaption(nearest) : "reconstruction" }) : null,
              el("figcaption", { text: nearest ? imageCaption(nearest, { lower: true }) : "reconstruction" }),
            ),
            el(
              "div",
              { class: "upload-facts" },
              el("p", { class: "upload-name", text: item.filename || `upload ${i + 1}` }),
              ...scoreFacts(item),
              distanceLine(item.data_distance),
              el("p", { class: "polarity", hidden: true }),
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
    const i = Number(card.dataset.index);
    renderGallery(card.querySelector(".gallery"), uploads[i].item.neighbours, (id) => goTo({ id }));
    showPolarity(i);
  }
}

/** The hover card of upload star `i`: its file name and its picture. */
function uploadCard({ item }, i) {
  return [
    el("img", { class: "pixel input", src: item.input, alt: "" }),
    el("dl", {}, el("dt", { text: "upload" }), el("dd", { text: item.filename || `upload ${i + 1}` })),
  ];
}

// ---- background polarity -------------------------------------------------------------------
async function checkPolarity(done) {
  if (!can.images) return;
  for (const entry of done) {
    const ids = entry.item.neighbours.ids.slice(0, 3);
    try {
      entry.inverse = await oppositePolarity(entry.item.input, ids.map((id) => api.thumbnailUrl(state.model, id)));
    } catch {
      entry.inverse = false; // a hint only
    }
    showPolarity(uploads.findIndex((u) => u.item === entry.item));
  }
}

function showPolarity(i) {
  const entry = uploads[i];
  const card = list.querySelector(`.upload-card[data-index="${i}"]`);
  if (!entry || !card) return;
  const line = card.querySelector(".polarity");
  if (entry.inverse !== null) card.dataset.polarity = entry.inverse ? "opposite" : "same";
  line.hidden = !entry.inverse;
  if (!entry.inverse) return;
  line.replaceChildren(
    "Its background is the opposite of the dataset's (dark on light against light on dark), so it may land among the wrong items. ",
    el("button", {
      type: "button",
      class: "button small",
      text: "Invert and encode again",
      onclick: async () => upload([await invertedFile(entry.file)]),
    }),
  );
}

/** Make upload i the current place and ring its neighbours on the map. */
function focus(i) {
  const entry = uploads[i];
  if (!entry) return;
  const { item } = entry;
  for (const card of list.children) card.classList.toggle("current", Number(card.dataset.index) === i);
  ring("upload", item.neighbours.ids);
  showPlace({
    ref: { latent: item.latent },
    image: item.image,
    latent: item.latent,
    positions: item.positions,
    label: `upload: ${item.filename || `image ${i + 1}`}`,
    nearest: nearestOf(item),
    dataDistance: item.data_distance,
  });
}

function reset() {
  denoise.reset();
  uploads = [];
  list.replaceChildren();
  failures.replaceChildren();
  clearError(root);
  map.setOverlay("uploads", []);
}

export const panel = { name: "upload", label: "Upload", setup, reset, restore: () => {} };
