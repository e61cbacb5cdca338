// The only module that talks to the server: JSON over HTTP, the binary points form, and the
// drag WebSocket. Every failure becomes an ApiError whose message is the API's own plain-words
// `message`.

import { decodePoints } from "./points.js";

export class ApiError extends Error {
  constructor(message, status = 0, code = "error") {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const enc = encodeURIComponent;
const modelPath = (model) => `/api/models/${enc(model)}`;

async function request(path, init) {
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError("The server could not be reached. Is it still running?", 0, "network");
  }
}

/** The API's own error (its JSON error shape) as an ApiError. */
async function failure(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    // a body that is not JSON: the status line below says what happened
  }
  const error = data && data.error;
  return new ApiError(
    (error && error.message) || `The server answered ${response.status} ${response.statusText}.`,
    response.status,
    (error && error.code) || "http_error",
  );
}

async function send(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await request(path, init);
  if (!response.ok) throw await failure(response);
  try {
    return await response.json();
  } catch {
    return null; // a success without a JSON body
  }
}

/** GET a binary body as an ArrayBuffer; errors still arrive in the API's JSON error shape. */
async function sendForBuffer(path) {
  const response = await request(path, { headers: { Accept: "application/octet-stream" } });
  if (!response.ok) throw await failure(response);
  return response.arrayBuffer();
}

export const api = {
  health: () => send("GET", "/api/health"),
  models: () => send("GET", "/api/models"),
  /** Every point of a projection, as typed arrays (the binary form, see points.js). */
  points: async (model, projection) =>
    decodePoints(
      await sendForBuffer(`${modelPath(model)}/points?projection=${enc(projection)}&format=binary`),
    ),
  names: (model) => send("GET", `${modelPath(model)}/names`),
  /** Every item's latent: (N * latent_dim) float32 in id order, row-major (little-endian). */
  latents: async (model) => new Float32Array(await sendForBuffer(`${modelPath(model)}/latents`)),
  item: (model, id) => send("GET", `${modelPath(model)}/items/${Number(id)}`),
  thumbnailUrl: (model, id) => `${modelPath(model)}/items/${Number(id)}/thumbnail`,
  /** Many items' images in one request: {ids, images: PNG data URLs in the order asked}. */
  thumbnails: (model, ids) =>
    send("GET", `${modelPath(model)}/thumbnails?ids=${ids.map((id) => Number(id)).join(",")}`),
  /** ref: {id} | {latent} | {point, projection} */
  decode: (model, ref) => send("POST", `${modelPath(model)}/decode`, ref),
  interpolate: (model, body) => send("POST", `${modelPath(model)}/interpolate`, body),
  attributes: (model) => send("GET", `${modelPath(model)}/attributes`),
  createAttribute: (model, body) => send("POST", `${modelPath(model)}/attributes`, body),
  arithmetic: (model, body) => send("POST", `${modelPath(model)}/arithmetic`, body),
  neighbours: (model, body) => send("POST", `${modelPath(model)}/neighbors`, body),
  traverse: (model, body) => send("POST", `${modelPath(model)}/traverse`, body),
  outliers: (model, n = 20) => send("GET", `${modelPath(model)}/outliers?n=${Number(n)}`),
  /** The items matching a query: every match in `bitmap` (base64, a bit per item), no id list. */
  search: (model, q) =>
    send("GET", `${modelPath(model)}/search?q=${enc(q)}&limit=0&bitmap=true`),
  /** A selection's figures: ids (item ids) and the projection whose faithfulness to summarise. */
  selectionStats: (model, ids, projection) =>
    send("POST", `${modelPath(model)}/selection/stats`, { ids, projection }),
  /** Persistence diagrams of the model's latents (seconds the first time), and bar clicks. */
  topology: (model) => send("GET", `${modelPath(model)}/topology`),
  /** Anomaly scores of a model trained on normal classes: distributions, ROC, AUC. */
  anomaly: (model, score) => send("GET", `${modelPath(model)}/anomaly?score=${enc(score)}`),
  topologyBar: (model, dim, bar) => send("GET", `${modelPath(model)}/topology/h${Number(dim)}/${Number(bar)}`),
  topologyDistance: (a, b) => send("GET", `/api/compare/topology?a=${enc(a)}&b=${enc(b)}`),
  /** Whether models a and b index the same items, and their quality figures side by side. */
  compare: (a, b) => send("GET", `/api/compare?a=${enc(a)}&b=${enc(b)}`),
  /** Every quality figure of models on the same items, one value per model. */
  compareTable: (models) => send("GET", `/api/compare/table?models=${models.map(enc).join(",")}`),
  /** `model`'s map of `projection` aligned onto `reference`'s (Procrustes with scaling). */
  align: (reference, model, projection) =>
    send("GET", `/api/compare/align?reference=${enc(reference)}&model=${enc(model)}&projection=${enc(projection)}`),
  /** Per item, the share of its 10 latent neighbours in `reference` not among them in `model`. */
  change: (reference, model, top = 20) =>
    send("GET", `/api/compare/change?reference=${enc(reference)}&model=${enc(model)}&top=${Number(top)}`),
  /** The other loaded models on the same items as `model`. */
  comparable: (model) => send("GET", `${modelPath(model)}/comparable`),
  /** The denoising demo: a FormData of kind, level, seed, model and item or file. */
  denoise: (form) => send("POST", "/api/denoise", form),
  encode(model, files, k = 8) {
    const form = new FormData();
    for (const file of files) form.append("file", file, file.name);
    return send("POST", `${modelPath(model)}/encode?k=${Number(k)}`, form);
  },
};

/** A binary drag frame -> the JSON form's fields, `image` an object URL of its PNG (or null). */
function binaryFrame(buffer) {
  const length = new DataView(buffer).getUint32(0);
  const { image_type: type, ...frame } = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const bytes = new Uint8Array(buffer, 4 + length);
  frame.image = type ? URL.createObjectURL(new Blob([bytes], { type })) : null;
  return frame;
}

/**
 * The drag stream. `move(x, y)` sends a point at once when no answer is awaited, otherwise it
 * keeps only the newest point and sends it when the answer arrives: latest wins, and the
 * server never queues more than one point per client.
 *
 * Frames come binary (`?frames=binary`): a 4-byte big-endian header length, the JSON header,
 * then the PNG bytes, which `onFrame` gets as `frame.image`, an object URL the receiver owns
 * (it revokes it with URL.revokeObjectURL when the image is replaced). Errors come as JSON text.
 */
export function openDragStream(model, projection, { onFrame, onError }) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}${modelPath(model)}/drag?projection=${enc(projection)}&frames=binary`;
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  let seq = 0;
  let waiting = false;
  let pending = null;
  let closed = false;

  const flush = () => {
    if (waiting || pending === null || socket.readyState !== WebSocket.OPEN) return;
    const [x, y] = pending;
    pending = null;
    waiting = true;
    seq += 1;
    socket.send(JSON.stringify({ x, y, seq }));
  };

  socket.addEventListener("open", flush);
  socket.addEventListener("message", (event) => {
    waiting = false;
    let data;
    try {
      data = typeof event.data === "string" ? JSON.parse(event.data) : binaryFrame(event.data);
    } catch {
      onError(new ApiError("The drag stream sent something unreadable."));
      return;
    }
    if (data.error) onError(new ApiError(data.error.message, data.error.status, data.error.code));
    else onFrame(data);
    flush();
  });
  socket.addEventListener("close", () => {
    waiting = false;
    if (!closed) {
      closed = true;
      onError(new ApiError("The drag stream closed; the next drag reopens it.", 0, "closed"));
    }
  });

  return {
    model,
    projection,
    get usable() {
      return !closed && socket.readyState <= WebSocket.OPEN;
    },
    move(x, y) {
      pending = [x, y];
      flush();
    },
    close() {
      closed = true;
      socket.close();
    },
  };
}
