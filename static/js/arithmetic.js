// Latent arithmetic: a start plus attribute vectors, each with a strength slider (vectors come
// from the labels and factors, or are made from groups A and B selected on the map), or the
// analogy a - b + c. The result is decoded, marked on the map, and its neighbours highlighted.

import { api } from "./api.js";
import { imageCaption, nearestOf } from "./capabilities.js";
import { showDistance } from "./data-distance.js";
import { map } from "./explorer-map.js";
import { renderGallery, Slot } from "./places.js";
import { projectionLabel } from "./projections.js";
import { goTo, showPlace } from "./preview.js";
import { ring, unring } from "./rings.js";
import { loaded, on, save, state } from "./state.js";
import { $, $$, busy, clearError, debounce, el, fmt, latestOnly, showError, STALE } from "./ui.js";

const root = $("#panel-arithmetic");
const termsBox = $("#arith-terms");
const guard = latestOnly();
const K = 8;
let result = null; // the last PlacedOut

const KINDS = {
  value: "One value against the rest",
  pair: "One class minus another",
  factor: "Factor: high minus low",
  custom: "Made on this page",
};

let start = null; // the start slot, and the analogy's a, b and c
let analogy = [];

function setup() {
  start = new Slot($("#arith-start"), (ref) => {
    state.arith.start = ref;
    save();
    compute();
  });
  analogy = ["a", "b", "c"].map(
    (key) =>
      new Slot($(`#arith-${key}`), (ref) => {
        state.arith[key] = ref;
        save();
        compute(); // live, like the terms: once a, b and c are all set
      }),
  );
  $$('input[name="arith-mode"]').forEach((radio) =>
    radio.addEventListener("change", () => {
      state.arith.mode = radio.value;
      showMode();
      save();
    }),
  );
  $("#arith-add").addEventListener("click", addTerm);
  $("#arith-make").addEventListener("click", makeVector);
  $("#arith-analogy-run").addEventListener("click", () => runAnalogy());
  $("#arith-show").addEventListener("click", () => showResult());
  on("groups", updateMakeButton);
  on("tab", (tab) => tab !== "arithmetic" && unring("arithmetic"));
  on("projection", () => {
    if (result) map.setOverlay("result", [result.positions[state.projection]]);
  });
}

function addTerm() {
  const first = loaded.attributes.find((a) => a.kind === "pair") || loaded.attributes[0];
  if (!first) {
    showError(root, "This model has no attribute vectors: its dataset has no labels or factors. Make one from groups A and B.");
    return;
  }
  state.arith.terms.push({ attribute: first.id, weight: 1 });
  renderTerms();
  changed();
}

/** How the page names a place in a formula: "item 7", "map point", "latent". */
function placeWords(ref) {
  if (!ref) return "?";
  if (ref.id !== undefined && ref.id !== null) return `item ${ref.id}`;
  return ref.point ? "map point" : "latent";
}

function termWords(term) {
  if (!term.attribute) return `${term.name} (A − B)`;
  const attribute = loaded.attributes.find((a) => a.id === term.attribute);
  const name = attribute ? attribute.name : term.attribute;
  return attribute && attribute.kind === "value" ? `${name} (vs the rest)` : name;
}

/** The computation in words: "item 7 + 1.5 × digit=1 (vs the rest)", "item 1 − item 2 + item 3". */
export function formulaWords(arith = state.arith) {
  if (arith.mode === "analogy") {
    return `${placeWords(arith.a)} − ${placeWords(arith.b)} + ${placeWords(arith.c)}`;
  }
  const terms = arith.terms.map((t) => `${t.weight < 0 ? "−" : "+"} ${fmt(Math.abs(t.weight), 1)} × ${termWords(t)}`);
  return [placeWords(arith.start), ...terms].join(" ");
}

/** The result in the big preview, titled with its formula (quiet: the tab has its own
 * neighbours, and the other panels need not follow every slider step). */
function showResult({ quiet = false } = {}) {
  if (!result) return;
  showPlace(
    {
      ref: { latent: result.latent },
      image: result.image,
      latent: result.latent,
      positions: result.positions,
      label: `= ${formulaWords()}`,
      nearest: nearestOf(result),
      dataDistance: result.data_distance,
    },
    { quiet },
  );
}

function showMode() {
  const analogyMode = state.arith.mode === "analogy";
  $("#arith-terms-form").hidden = analogyMode;
  $("#arith-analogy-form").hidden = !analogyMode;
}

function attributeSelect(term) {
  const select = el("select", { "aria-label": "Attribute vector" });
  for (const [kind, title] of Object.entries(KINDS)) {
    const options = loaded.attributes.filter((a) => a.kind === kind);
    if (!options.length) continue;
    select.append(
      el(
        "optgroup",
        { label: title },
        ...options.map((a) =>
          el("option", { value: a.id, text: `${a.name}  (d = ${fmt(a.effect_size, 1)})` }),
        ),
      ),
    );
  }
  if (!loaded.attributes.some((a) => a.id === term.attribute)) {
    select.prepend(el("option", { value: term.attribute, text: `${term.attribute} (not on this server)` }));
  }
  select.value = term.attribute;
  select.addEventListener("change", () => {
    term.attribute = select.value;
    changed();
  });
  return select;
}

function renderTerms() {
  termsBox.replaceChildren(
    ...state.arith.terms.map((term, i) => {
      const output = el("output", { text: fmt(term.weight, 1) });
      const slider = el("input", {
        type: "range",
        min: "-3",
        max: "3",
        step: "0.1",
        value: String(term.weight),
        "aria-label": `Strength of vector ${i + 1}`,
        oninput: (event) => {
          term.weight = Number(event.target.value);
          output.textContent = fmt(term.weight, 1);
          changed();
        },
      });
      const name = term.attribute
        ? attributeSelect(term)
        : el("span", { class: "term-name", text: `${term.name} (A − B)` });
      return el(
        "div",
        { class: "term", dataset: { index: String(i) } },
        name,
        el("button", {
          type: "button",
          class: "button small ghost",
          text: "Remove",
          "aria-label": `Remove vector ${i + 1}`,
          onclick: () => {
            state.arith.terms.splice(i, 1);
            renderTerms();
            changed();
          },
        }),
        el("label", { class: "strength" }, el("span", { text: "strength" }), slider, output),
      );
    }),
  );
}

function changed() {
  save();
  compute();
}

const compute = debounce(() => {
  if (state.arith.mode === "terms" && start.ref) runTerms();
  if (state.arith.mode === "analogy" && analogy.every((slot) => slot.ref)) runAnalogy();
}, 60);

/** The page's own words for what the API words for a client (an attribute of a link that this
 * model does not have). */
function pageWords(error) {
  if (error.code !== "unknown_attribute") return error;
  const missing = state.arith.terms
    .filter((t) => t.attribute && !loaded.attributes.some((a) => a.id === t.attribute))
    .map((t) => `"${t.attribute}"`);
  return `This model has no attribute vector ${missing.join(" or ") || "of that name"} (the link may come from another model): choose one from the list, or remove it.`;
}

function termBody(term) {
  return term.attribute
    ? { attribute: term.attribute, weight: term.weight }
    : { vector: term.vector, weight: term.weight };
}

async function runTerms() {
  if (!start.ref) {
    showError(root, 'Choose a start first: click the map, then press "Use current".');
    return;
  }
  await runBody({ start: start.ref, terms: state.arith.terms.map(termBody), k: K });
}

async function runAnalogy() {
  const [a, b, c] = analogy.map((slot) => slot.ref);
  if (!a || !b || !c) {
    showError(root, "Choose all three of a, b and c first.");
    return;
  }
  await runBody({ analogy: { a, b, c }, k: K });
}

async function runBody(body) {
  clearError(root);
  try {
    const placed = await guard(busy(root, api.arithmetic(state.model, body)));
    if (placed === STALE) return;
    result = placed;
  } catch (error) {
    showError(root, pageWords(error));
    return;
  }
  state.arith.run = true;
  save();
  $("#arith-result").hidden = false;
  const nearest = nearestOf(result);
  const picture = $("#arith-image");
  if (result.image) picture.src = result.image;
  else picture.removeAttribute("src");
  picture.hidden = !result.image;
  picture.alt = nearest ? imageCaption(nearest) : "Decoded result of the arithmetic";
  const xy = result.positions[state.projection];
  const shown = nearest ? ` · ${imageCaption(nearest, { lower: true })}` : "";
  $("#arith-where").textContent = `lands at (${fmt(xy[0])}, ${fmt(xy[1])}) on ${projectionLabel(state.projection)}${shown}`;
  $("#arith-formula").textContent = `= ${formulaWords()}`;
  showDistance($("#arith-distance"), result.data_distance);
  renderGallery($("#arith-neighbours"), result.neighbours, (id) => goTo({ id }));
  showOnMap();
  if (!root.hidden) showResult({ quiet: true });
}

function showOnMap() {
  if (!result) return;
  map.setOverlay("result", [result.positions[state.projection]]);
  ring("arithmetic", result.neighbours.ids);
}

async function makeVector() {
  const name = $("#arith-vector-name").value.trim() || `A − B (${state.groupA.length} vs ${state.groupB.length})`;
  clearError(root);
  try {
    const attribute = await busy(
      root,
      api.createAttribute(state.model, { name, group_a: state.groupA, group_b: state.groupB }),
    );
    loaded.attributes.push(attribute);
    // Kept as a raw vector: a link must work after the server forgets its custom attributes.
    state.arith.terms.push({ vector: attribute.vector, name: attribute.name, weight: 1, id: attribute.id });
    renderTerms();
    changed();
  } catch (error) {
    showError(root, error);
  }
}

function updateMakeButton() {
  const ready = state.groupA.length > 0 && state.groupB.length > 0;
  $("#arith-make").disabled = !ready;
  $("#arith-make").title = ready
    ? `centroid of A (${state.groupA.length}) minus centroid of B (${state.groupB.length})`
    : "Select points with Lasso or Box and set groups A and B first";
}

/** Attribute ids usable by the traversal grid (vectors made here have a server id). */
export function termAttributeIds() {
  return state.arith.terms.map((t) => t.attribute || t.id).filter(Boolean);
}

function reset() {
  result = null;
}

function restore() {
  result = null;
  clearError(root);
  $("#arith-result").hidden = true;
  map.setOverlay("result", []);
  $$('input[name="arith-mode"]').forEach((r) => (r.checked = r.value === state.arith.mode));
  showMode();
  start.set(state.arith.start);
  analogy.forEach((slot, i) => slot.set(state.arith["abc"[i]]));
  renderTerms();
  updateMakeButton();
  if (!state.arith.run) return;
  if (state.arith.mode === "analogy") runAnalogy();
  else if (start.ref) runTerms();
}

export const panel = { name: "arithmetic", label: "Arithmetic", setup, reset, restore };
