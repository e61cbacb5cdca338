// The preview: the decoded image of the current place, set by a click (POST decode) or
// continuously while dragging the handle (the WebSocket drag stream), with the latent as bars.
// Without a decoder it is the nearest real item's image, captioned with that item's name.

import { api, openDragStream } from "./api.js";
import { can, imageCaption, nearestOf } from "./capabilities.js";
import { showDistance } from "./data-distance.js";
import { map } from "./explorer-map.js";
import { current, describeRef, imageFor } from "./places.js";
import { projectionLabel } from "./projections.js";
import { emit, loaded, on, save, state } from "./state.js";
import { $, busy, el, fmt, latestOnly, STALE, toast } from "./ui.js";

const card = $("#preview");
const image = $("#preview-image");
const original = $("#preview-original");
const handle = $("#handle");
const guard = latestOnly();
const MAX_BARS = 16;

// {ref, image, latent, positions, label, nearest: {id, name} | null, dataDistance}
let place = null;
current.get = () => place;

let stream = null;
let dragging = false; // frames that arrive after the release are stale: the release decodes
let frames = 0;
let rate = { count: 0, since: 0 };
let frameUrl = null; // the object URL of the frame shown (binary frames): revoked once replaced

function dropFrameUrl(next = null) {
  if (frameUrl) URL.revokeObjectURL(frameUrl);
  frameUrl = next;
}

/** Show the image of a place, or of the nearest real item ({id, name}; no image: none). */
function showImage(src, nearest) {
  if (src) image.src = src;
  else image.removeAttribute("src"); // an item without an image: the caption names it
  image.alt = nearest ? `Nearest real image: ${nearest.name}` : "Decoded image at the chosen place";
  image.dataset.nearestId = nearest ? String(nearest.id) : "";
  $("#preview-caption").textContent = imageCaption(nearest);
}

/** Show `next` ({ref, image, latent, positions, label, nearest, dataDistance: the answer's
 * data_distance}); `quiet` skips the "here" event. */
export function showPlace(next, { quiet = false } = {}) {
  place = next;
  state.here = next.ref;
  save();
  showImage(next.image, next.nearest);
  showDistance($("#preview-distance"), next.dataDistance);
  image.dataset.ref = describeRef(next.ref);
  $("#preview-title").textContent = next.label || title(next.ref);
  $("#preview-title").title = $("#preview-title").textContent; // one line: the whole on hover
  const xy = next.positions && next.positions[state.projection];
  $("#preview-sub").textContent = xy
    ? `at (${fmt(xy[0])}, ${fmt(xy[1])}) on ${projectionLabel(state.projection)}`
    : "";
  // Without a decoder the main image already is the item's own.
  const isItem = next.ref.id !== undefined && next.ref.id !== null && can.decode && can.images;
  $("#preview-original-figure").hidden = !isItem;
  if (isItem) original.src = api.thumbnailUrl(state.model, next.ref.id);
  drawBars(next.latent);
  placeHandle();
  if (!quiet) emit("here", next);
}

function title(ref) {
  return ref.point ? "Map point" : describeRef(ref);
}

/** Decode `ref` on the server (or find its nearest real item) and show it. */
export async function goTo(ref, label = null) {
  try {
    const placed = await guard(busy(card, imageFor(ref)));
    if (placed === STALE) return;
    const { image: src, latent, positions, data_distance: dataDistance } = placed;
    showPlace({ ref, image: src, latent, positions, label, nearest: nearestOf(placed), dataDistance });
  } catch (error) {
    toast(error.message);
  }
}

function reset() {
  place = null;
  showImage(null, null);
  showDistance($("#preview-distance"), null);
  image.dataset.frames = "0";
  frames = 0;
  $("#preview-title").textContent = can.decode
    ? "Click the map to decode a place."
    : "Click the map to see the nearest real item.";
  $("#preview-sub").textContent = "";
  $("#preview-original-figure").hidden = true;
  $("#latent-bars").replaceChildren();
  $("#drag-rate").textContent = "";
  handle.hidden = true;
  closeStream();
}

function drawBars(latent) {
  const bars = $("#latent-bars");
  if (!latent || !loaded.model) {
    bars.replaceChildren();
    return;
  }
  const std = loaded.model.latent_std;
  const rows = latent.slice(0, MAX_BARS).map((v, d) => {
    // a full half-bar is 3 standard deviations of the data along that dimension
    const reach = Math.max(-1, Math.min(1, v / (3 * (std[d] || 1))));
    const left = reach < 0 ? 50 + reach * 50 : 50;
    return el(
      "div",
      { class: "bar", title: `z${d} = ${fmt(v, 3)} (${fmt(v / (std[d] || 1), 1)} std)` },
      el("span", { text: `z${d}` }),
      el("span", { class: "track" }, el("span", { class: "fill", style: `left:${left}%;width:${Math.abs(reach) * 50}%` })),
      el("span", { class: "value", text: fmt(v, 2) }),
    );
  });
  if (latent.length > MAX_BARS) rows.push(el("span", { text: `… and ${latent.length - MAX_BARS} more dimensions` }));
  bars.replaceChildren(...rows);
}

let handleXY = null; // where the handle is, in data coordinates (ahead of `place` while moving)

function placeHandle(xy = place && place.positions && place.positions[state.projection]) {
  handleXY = xy || null;
  const pixel = xy && map.toPixel(xy[0], xy[1]);
  handle.hidden = !pixel;
  if (pixel) {
    handle.style.left = `${pixel[0]}px`;
    handle.style.top = `${pixel[1]}px`;
  }
}

// ---- the drag stream ----------------------------------------------------------------------
function closeStream() {
  if (stream) stream.close();
  stream = null;
}

function ensureStream() {
  if (stream && stream.usable && stream.model === state.model && stream.projection === state.projection) {
    return stream;
  }
  closeStream();
  const opened = openDragStream(state.model, state.projection, {
    onFrame: showFrame,
    onError: (error) => {
      if (stream === opened) stream = null;
      if (error.code !== "closed") toast(error.message);
    },
  });
  stream = opened;
  return stream;
}

function showFrame(frame) {
  if (!dragging) {
    if (frame.image) URL.revokeObjectURL(frame.image);
    return;
  }
  dropFrameUrl(frame.image);
  frames += 1;
  image.dataset.frames = String(frames);
  const nearest = nearestOf(frame);
  showImage(frame.image, nearest);
  // Frames carry no distance from the data (it would slow them): the release decodes it.
  showDistance($("#preview-distance"), null);
  const xy = [frame.x, frame.y];
  place = {
    ref: { point: xy, projection: frame.projection },
    image: frame.image,
    latent: frame.latent,
    positions: { [frame.projection]: xy },
    nearest,
  };
  $("#preview-title").textContent = title(place.ref);
  $("#preview-sub").textContent = `at (${fmt(xy[0])}, ${fmt(xy[1])}), dragging`;
  $("#preview-original-figure").hidden = true;
  drawBars(frame.latent);
  const now = performance.now();
  rate.count += 1;
  if (now - rate.since >= 500) {
    const fps = (rate.count * 1000) / (now - rate.since);
    $("#drag-rate").textContent = `${Math.round(fps)} frames/s`;
    card.dataset.fps = String(Math.round(fps));
    rate = { count: 0, since: now };
  }
}

function probed({ phase, xy, moved, item }) {
  if (!state.model) return;
  dragging = phase !== "end";
  if (!dragging) {
    // The readout is about the drag: it leaves with it.
    $("#drag-rate").textContent = "";
    delete card.dataset.fps;
  }
  if (phase === "start") {
    placeHandle(xy);
    ensureStream();
    rate = { count: 0, since: performance.now() };
  } else if (phase === "move") {
    placeHandle(xy);
    ensureStream().move(xy[0], xy[1]);
  } else if (!moved && item !== null) {
    goTo({ id: item });
  } else {
    placeHandle(xy);
    goTo({ point: xy, projection: state.projection });
  }
}

// The keyboard: arrow keys move the probe by 2% of the view (10% with Shift) and decode there;
// the first press starts from the middle of the view.
const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
function keyed(event) {
  const step = KEYS[event.key];
  const view = map.viewRange();
  if (!step || !view || !state.model) return;
  event.preventDefault();
  const here = handleXY || [
    (view.x[0] + view.x[1]) / 2,
    (view.y[0] + view.y[1]) / 2,
  ];
  const size = event.shiftKey ? 0.1 : 0.02;
  const clamp = (v, [lo, hi]) => Math.min(Math.max(v, lo), hi);
  const xy = [
    clamp(here[0] + step[0] * size * (view.x[1] - view.x[0]), view.x),
    clamp(here[1] + step[1] * size * (view.y[1] - view.y[0]), view.y),
  ];
  placeHandle(xy);
  goTo({ point: xy, projection: state.projection });
}

function setup() {
  map.on("probe", probed);
  $("#map-wrap").addEventListener("keydown", keyed);
  on("view", () => placeHandle());
}

// A card of its own (no tab): the place shown, from a click, a drag, the keyboard or a panel.
export const panel = {
  name: "preview",
  label: null,
  setup,
  reset,
  restore: () => (state.here ? goTo(state.here) : undefined), // the place a link names
};
