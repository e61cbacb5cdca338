// The view state and its home in the URL: everything a link or bookmark should reopen.
// A "ref" names a place in latent space exactly as the API takes it:
//   {id} a dataset item, {point, projection} a place on a map, {latent} a raw latent vector.

export const state = {
  model: null,
  projection: null, // null: the model's default_projection (GET /api/models)
  colour: null, // a metadata field name, or "reconstruction_error"
  hidden: new Set(), // hidden category names of the legend field
  here: null, // the ref shown in the preview
  selection: [], // item ids of the current lasso/box selection
  groupA: [],
  groupB: [],
  search: "", // the search box's query (search.js)
  view: null, // the zoomed view {x: [x0, x1], y: [y0, y1]}, or null: the whole map
  tab: "interpolate",
  interp: { start: null, end: null, method: "slerp", steps: 8, run: false },
  arith: { mode: "terms", start: null, terms: [], a: null, b: null, c: null, run: false },
  nn: { k: 8, metric: "euclidean" },
  trav: { start: null, mode: "dims", steps: 7, radius: 3, run: false },
};

// ---- a tiny event bus: modules announce changes, others listen ---------------------------
const listeners = new Map();
export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, []);
  listeners.get(event).push(fn);
}
export function emit(event, detail) {
  for (const fn of listeners.get(event) || []) fn(detail);
}

// ---- refs <-> short strings ---------------------------------------------------------------
const num = (v) => String(Math.round(v * 1e4) / 1e4);

export function encodeRef(ref) {
  if (!ref) return null;
  if (ref.id !== undefined && ref.id !== null) return `i${ref.id}`;
  if (ref.point) return `p:${ref.projection}:${ref.point.map(num).join(",")}`;
  if (ref.latent) return `z:${ref.latent.map(num).join(",")}`;
  return null;
}

export function decodeRef(text) {
  if (!text) return null;
  if (/^i\d+$/.test(text)) return { id: Number(text.slice(1)) };
  const numbers = (s) => {
    const values = s.split(",").map(Number);
    return values.length && values.every(Number.isFinite) ? values : null;
  };
  if (text.startsWith("p:")) {
    const [, projection, xy] = text.split(":");
    const point = xy && numbers(xy);
    return point && point.length === 2 && projection ? { point, projection } : null;
  }
  if (text.startsWith("z:")) {
    const latent = numbers(text.slice(2));
    return latent ? { latent } : null;
  }
  return null;
}

export function sameRef(a, b) {
  return encodeRef(a) === encodeRef(b);
}

// Item id lists: sorted, runs collapsed ("a-f"), base 36, joined by dots.
export function encodeIds(ids) {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j += 1;
    const from = sorted[i].toString(36);
    parts.push(j > i ? `${from}-${sorted[j].toString(36)}` : from);
    i = j + 1;
  }
  return parts.join(".");
}

export function decodeIds(text) {
  const ids = [];
  for (const part of (text || "").split(".").filter(Boolean)) {
    const [from, to] = part.split("-").map((s) => parseInt(s, 36));
    if (!Number.isFinite(from)) continue;
    const last = Number.isFinite(to) ? Math.min(to, from + 1_000_000) : from;
    for (let id = from; id <= last; id += 1) ids.push(id);
  }
  return ids;
}

// Terms: "<weight>~a:<attribute id>" or "<weight>~v:<comma vector>:<name>".
function encodeTerm(term) {
  const weight = num(term.weight);
  if (term.attribute) return `${weight}~a:${term.attribute}`;
  return `${weight}~v:${term.vector.map(num).join(",")}:${term.name || "vector"}`;
}

function decodeTerm(text) {
  const cut = text.indexOf("~");
  const weight = Number(text.slice(0, cut));
  const body = text.slice(cut + 1);
  if (cut < 0 || !Number.isFinite(weight)) return null;
  if (body.startsWith("a:")) return { attribute: body.slice(2), weight };
  if (body.startsWith("v:")) {
    const rest = body.slice(2);
    const colon = rest.indexOf(":");
    const vector = (colon < 0 ? rest : rest.slice(0, colon)).split(",").map(Number);
    if (!vector.every(Number.isFinite)) return null;
    return { vector, name: colon < 0 ? "vector" : rest.slice(colon + 1), weight };
  }
  return null;
}

// ---- the URL ------------------------------------------------------------------------------
// Readable query strings: keep , : ~ ! unescaped (all legal in a query).
const esc = (v) => encodeURIComponent(v).replace(/%2C/g, ",").replace(/%3A/g, ":");

export function toQuery(s = state) {
  const pairs = [];
  const put = (key, value) => {
    if (value !== null && value !== undefined && value !== "") pairs.push(`${key}=${esc(value)}`);
  };
  put("model", s.model);
  put("proj", s.projection);
  put("colour", s.colour);
  for (const name of s.hidden) put("hide", name);
  if (s.view) put("view", [...s.view.x, ...s.view.y].map(num).join(","));
  put("here", encodeRef(s.here));
  put("sel", encodeIds(s.selection));
  put("ga", encodeIds(s.groupA));
  put("gb", encodeIds(s.groupB));
  put("q", s.search);
  put("tab", s.tab);
  const { interp, arith, nn, trav } = s;
  put("i0", encodeRef(interp.start));
  put("i1", encodeRef(interp.end));
  put("im", interp.method);
  put("is", interp.steps);
  if (interp.run) put("ir", 1);
  put("am", arith.mode);
  put("as", encodeRef(arith.start));
  for (const term of arith.terms) put("t", encodeTerm(term));
  put("aa", encodeRef(arith.a));
  put("ab", encodeRef(arith.b));
  put("ac", encodeRef(arith.c));
  if (arith.run) put("ar", 1);
  put("k", nn.k);
  put("metric", nn.metric);
  put("t0", encodeRef(trav.start));
  put("tm", trav.mode);
  put("ts", trav.steps);
  put("tr", trav.radius);
  if (trav.run) put("tx", 1);
  return pairs.join("&");
}

export function fromQuery(query, s = state) {
  const params = new URLSearchParams(query);
  const get = (key) => params.get(key);
  const int = (key, lo, hi, fallback) => {
    const v = Number(get(key));
    return get(key) !== null && Number.isInteger(v) && v >= lo && v <= hi ? v : fallback;
  };
  const pick = (key, allowed, fallback) => (allowed.includes(get(key)) ? get(key) : fallback);
  s.model = get("model");
  s.projection = get("proj") || s.projection;
  s.colour = get("colour");
  s.hidden = new Set(params.getAll("hide"));
  const view = (get("view") || "").split(",").map(Number);
  s.view = view.length === 4 && view.every(Number.isFinite) && view[0] < view[1] && view[2] < view[3]
    ? { x: view.slice(0, 2), y: view.slice(2) }
    : null;
  s.here = decodeRef(get("here"));
  s.selection = decodeIds(get("sel"));
  s.groupA = decodeIds(get("ga"));
  s.groupB = decodeIds(get("gb"));
  s.search = get("q") || "";
  s.tab = get("tab") || s.tab;
  s.interp = {
    start: decodeRef(get("i0")),
    end: decodeRef(get("i1")),
    method: pick("im", ["lerp", "slerp"], "slerp"),
    steps: int("is", 2, 64, 8),
    run: get("ir") === "1",
  };
  s.arith = {
    mode: pick("am", ["terms", "analogy"], "terms"),
    start: decodeRef(get("as")),
    terms: params.getAll("t").map(decodeTerm).filter(Boolean),
    a: decodeRef(get("aa")),
    b: decodeRef(get("ab")),
    c: decodeRef(get("ac")),
    run: get("ar") === "1",
  };
  s.nn = { k: int("k", 1, 100, 8), metric: pick("metric", ["euclidean", "cosine"], "euclidean") };
  const radius = Number(get("tr"));
  s.trav = {
    start: decodeRef(get("t0")),
    mode: pick("tm", ["dims", "attrs"], "dims"),
    steps: int("ts", 3, 15, 7),
    radius: radius > 0 && radius <= 10 ? radius : 3,
    run: get("tx") === "1",
  };
  return s;
}

let saveTimer = null;
/** Write the state into the address bar (debounced: sliders change it many times a second). */
export function save() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveNow, 150);
}

export function saveNow() {
  clearTimeout(saveTimer);
  const query = toQuery();
  const url = `${location.pathname}${query ? `?${query}` : ""}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
  emit("saved", location.href);
}

// What the server sent for the current model; not part of the URL.
export const loaded = {
  models: [], // GET /api/models
  model: null, // the current ModelOut
  points: null, // GET points (binary form) for the current projection: typed arrays, no names
  fields: {}, // name -> {label, type: "category", categories, codes} | {label, type: "number", values}
  attributes: [], // GET attributes, plus vectors made on the page
};
