// Places and items as the panels show them: item labels, metadata fields, endpoint slots that
// hold a ref, and thumbnail galleries of neighbours.

import { api } from "./api.js";
import { can } from "./capabilities.js";
import { projectionLabel } from "./projections.js";
import { encodeRef, loaded, state } from "./state.js";
import { el, fmt } from "./ui.js";

export const ERROR_FIELD = "reconstruction_error";

/** Every field the map can be coloured by, from the points payload. */
export function buildFields(points) {
  const fields = {};
  for (const [name, column] of Object.entries(points.metadata || {})) {
    fields[name] = { label: name, ...column };
  }
  if (points.label_field && !fields[points.label_field] && points.labels) {
    fields[points.label_field] = {
      label: points.label_field,
      type: "category",
      categories: points.label_names,
      codes: points.labels,
    };
  }
  // Absent without a decoder (embeddings, encoder-only models): nothing to colour by then.
  if (points.reconstruction_error) {
    fields[ERROR_FIELD] = {
      label: "reconstruction error",
      type: "number",
      values: points.reconstruction_error,
    };
  }
  if (points.faithfulness) fields[FAITHFULNESS_FIELD] = faithfulnessField(points.faithfulness);
  return fields;
}

export const FAITHFULNESS_FIELD = "faithfulness";

// A fixed 0..1 range, so a colour means the same share on every map; red where the map tears
// neighbourhoods apart, blue where it keeps them.
function faithfulnessField(values) {
  return {
    label: "faithfulness (k=10)",
    type: "number",
    values,
    range: [0, 1],
    colorscale: [
      [0, "#c0392b"],
      [0.5, "#f1c40f"],
      [1, "#2166ac"],
    ],
    note:
      "Faithfulness: the share of each point's 10 nearest neighbours in latent space that are " +
      "also among its 10 nearest on this map. Low (red) = the map tears these neighbourhoods " +
      "apart; high (blue) = it keeps them.",
  };
}

export function fieldValue(field, id) {
  if (field.type === "category") return field.categories[field.codes[id]];
  return field.values[id];
}

// Item names are not in the binary points: the names list (export) or one item (hover) is
// fetched when first needed, and kept for the current model.
const names = { model: null, all: null, some: new Map() };

function namesFor(model) {
  if (names.model !== model) Object.assign(names, { model, all: null, some: new Map() });
  return names;
}

/** Every item's name in id order (fetched once per model). */
export async function allNames() {
  const model = state.model;
  if (namesFor(model).all) return names.all;
  const { names: list } = await api.names(model);
  if (names.model === model) names.all = list;
  return list;
}

/** An item's name when it is known; otherwise "…" now and `then(name)` once it arrives. */
export function itemName(id, then) {
  const model = state.model;
  const cache = namesFor(model);
  if (cache.all) return cache.all[id];
  if (cache.some.has(id)) return cache.some.get(id);
  if (cache.some.size > 10_000) cache.some.clear();
  api.item(model, id).then(
    (item) => {
      if (names.model === model) names.some.set(id, item.name);
      then(item.name);
    },
    () => then(`item #${id}`), // decoration only: the card still shows the item
  );
  return "…";
}

export function itemLabel(id) {
  const points = loaded.points;
  const field = points && loaded.fields[points.label_field];
  const label = field ? ` · ${points.label_field} ${fieldValue(field, id)}` : "";
  return `item #${id}${label}`;
}

/**
 * What the server shows for `ref` (a PlacedOut): POST decode, which without a decoder answers
 * clicks with the nearest real item; a raw latent is not decoded then (409), so its nearest
 * item is looked up instead (without positions: the latent has no known place on the map).
 */
export async function imageFor(ref) {
  if (can.decode || !ref.latent) return api.decode(state.model, ref);
  const { ids } = await api.neighbours(state.model, { latent: ref.latent, k: 1 });
  const item = await api.item(state.model, ids[0]);
  return {
    latent: ref.latent,
    positions: null,
    image: can.images ? api.thumbnailUrl(state.model, item.id) : null,
    image_source: "nearest",
    nearest_id: item.id,
    nearest_name: item.name,
  };
}

/** The current place, as the preview knows it: {ref, image, label}; set by preview.js. */
export const current = { get: () => null };

export function describeRef(ref) {
  if (!ref) return "not set";
  if (ref.id !== undefined && ref.id !== null) return itemLabel(ref.id);
  if (ref.point) {
    const [x, y] = ref.point;
    return `map point (${fmt(x)}, ${fmt(y)}) on ${projectionLabel(ref.projection)}`;
  }
  return ref.name || "latent vector";
}

/** A slot holding one ref, with "Use current" and an item-number box. */
export class Slot {
  constructor(node, onChange) {
    this.node = node;
    this.ref = null;
    this.onChange = onChange;
    this.thumb = node.querySelector(".slot-thumb");
    this.text = node.querySelector(".slot-text");
    node.querySelector('[data-action="current"]').addEventListener("click", () => {
      const place = current.get();
      if (place) this.set(place.ref, place.image, true);
    });
    const input = node.querySelector(".item-input");
    this.input = input;
    // A refused number says so in the slot (a passing browser bubble is easily missed).
    this.note = el("span", { class: "slot-note", role: "status" });
    node.append(this.note);
    input.addEventListener("change", () => {
      const id = Number(input.value);
      const n = loaded.points ? loaded.points.count : 0;
      if (input.value !== "" && Number.isInteger(id) && id >= 0 && id < n) {
        this.note.textContent = "";
        this.set({ id }, null, true);
        input.setCustomValidity("");
      } else {
        const why = `Item numbers run from 0 to ${n - 1}: ${input.value || "an empty box"} is not one; the ${this.node.querySelector(".slot-label").textContent} is unchanged.`;
        this.note.textContent = why;
        input.setCustomValidity(why);
      }
    });
  }

  set(ref, image = null, notify = false) {
    const n = loaded.points ? loaded.points.count : 0;
    if (n) this.input.placeholder = `0–${n - 1}`; // the accepted range, beside "item #"
    this.ref = ref;
    this.node.dataset.set = String(Boolean(ref));
    this.node.dataset.ref = encodeRef(ref) || "";
    this.text.textContent = describeRef(ref);
    this.thumb.hidden = !ref;
    if (ref) this.showImage(ref, image);
    if (notify) this.onChange(ref);
  }

  async showImage(ref, image) {
    if (image) {
      this.thumb.src = image;
    } else if (ref.id !== undefined && ref.id !== null) {
      this.thumb.hidden = !can.images; // an entry without images: the text names the item
      if (can.images) this.thumb.src = api.thumbnailUrl(state.model, ref.id);
    } else {
      this.thumb.removeAttribute("src");
      try {
        const placed = await imageFor(ref);
        if (this.ref !== ref) return;
        this.thumb.hidden = !placed.image;
        if (placed.image) this.thumb.src = placed.image;
      } catch {
        // the thumbnail is decoration; the panel reports errors when it runs
      }
    }
  }
}

/** An item's thumbnail, or its name where the entry has no images. */
export function itemPicture(id) {
  if (can.images) {
    return el("img", {
      class: "pixel",
      src: api.thumbnailUrl(state.model, id),
      alt: itemLabel(id),
      loading: "lazy",
    });
  }
  const name = el("span", { class: "item-name" });
  name.textContent = itemName(id, (text) => (name.textContent = text));
  return name;
}

/** Render neighbours ({ids, distances}) as thumbnail buttons; `onPick(id)` on press. */
export function renderGallery(container, neighbours, onPick) {
  container.replaceChildren(
    ...neighbours.ids.map((id, i) =>
      el(
        "button",
        {
          type: "button",
          title: `${itemLabel(id)}, distance ${fmt(neighbours.distances[i], 3)}`,
          dataset: { id: String(id) },
          onclick: () => onPick(id),
        },
        itemPicture(id),
        el("span", { text: `#${id}` }),
        el("span", { text: fmt(neighbours.distances[i], 2) }),
      ),
    ),
  );
}
