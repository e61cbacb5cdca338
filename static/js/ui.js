// Small DOM helpers shared by the panels: element building, busy and error display, and
// latest-wins guards for requests fired faster than they answer.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** el("img", {class: "pixel", src}, child, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

let pending = 0;
/** Mark `panel` busy (and show the top progress bar) while `promise` runs. */
export async function busy(panel, promise) {
  pending += 1;
  $("#progress").hidden = false;
  if (panel) {
    panel.dataset.busyCount = String(Number(panel.dataset.busyCount || 0) + 1);
    panel.setAttribute("aria-busy", "true");
  }
  try {
    return await promise;
  } finally {
    pending -= 1;
    $("#progress").hidden = pending === 0;
    if (panel) {
      const left = Number(panel.dataset.busyCount) - 1;
      panel.dataset.busyCount = String(left);
      if (left === 0) panel.removeAttribute("aria-busy");
    }
  }
}

/** Show an error in the panel's own .error box (or the page toast) in plain words. */
export function showError(panel, error) {
  const message = error && error.message ? error.message : String(error);
  const box = panel && panel.querySelector(".error");
  if (!box) {
    toast(message);
    return;
  }
  box.textContent = message;
  box.hidden = false;
}

export function clearError(panel) {
  const box = panel && panel.querySelector(".error");
  if (box) box.hidden = true;
}

let toastTimer = null;
/** A message at the page's corner: errors by default, `info` for plain news. */
export function toast(message, { info = false } = {}) {
  $("#toast-text").textContent = message;
  $("#toast").classList.toggle("info", info);
  $("#toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => ($("#toast").hidden = true), 8000);
}
$("#toast-close").addEventListener("click", () => ($("#toast").hidden = true));

export const STALE = Symbol("stale");
/** A guard: wrap each request; only the newest one's answer comes back, older ones give STALE. */
export function latestOnly() {
  let newest = 0;
  return async (promise) => {
    newest += 1;
    const mine = newest;
    try {
      const value = await promise;
      return mine === newest ? value : STALE;
    } catch (error) {
      if (mine !== newest) return STALE;
      throw error;
    }
  };
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * A number field that keeps to [lo, hi]: the accepted range is written beside it, and a value
 * moved into the range (or refused) says so in words there until the next change.
 * `onValue(value)` gets each accepted value.
 */
export function boundedNumber(input, { lo, hi, integer = true, fallback, what }, onValue) {
  const field = input.closest("label") || input;
  const range = el("span", { class: "field-range", text: `${lo}–${hi}` });
  input.after(range);
  const note = el("span", { class: "field-note", role: "status" });
  field.after(note);
  input.addEventListener("change", () => {
    const typed = input.value;
    let value = Number(typed);
    if (integer) value = Math.round(value);
    const valid = typed !== "" && Number.isFinite(value);
    const kept = valid ? Math.min(hi, Math.max(lo, value)) : fallback;
    input.value = String(kept);
    note.textContent =
      !valid ? `${what} must be a number from ${lo} to ${hi}: kept ${kept}.`
      : kept !== Number(typed) ? `${what} go${what.endsWith("s") ? "" : "es"} from ${lo} to ${hi}: ${typed} became ${kept}.`
      : "";
    onValue(kept);
  });
  return note;
}

export const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "–");

/** Trigger a download of `blob` as `filename`. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
