// Export: the points on the map or a selection as CSV or JSON (every point that is not in a
// hidden class, drawn or not; numbers as the server sent them: float32, written with as few
// digits as read back as the same float32), the interpolation strip and traversal
// grid as PNG, and the link to this view.

import { api } from "./api.js";
import { saveStrip, stripImages } from "./interpolate.js";
import { map } from "./explorer-map.js";
import { allNames, fieldValue } from "./places.js";
import { loaded, on, saveNow, state } from "./state.js";
import { $, $$, download, showError, toast } from "./ui.js";
import { gridRows, saveGrid } from "./traverse.js";

const root = $("#panel-export");

/** A float32 as a short decimal that reads back as the same float32 (0.1, not
 * 0.10000000149011612): 6 to 9 significant digits, trailing zeros dropped. */
export function float32Text(value) {
  if (!Number.isFinite(value)) return value;
  for (let digits = 6; digits < 9; digits += 1) {
    const short = Number(value.toPrecision(digits));
    if (Math.fround(short) === value) return short;
  }
  return Number(value.toPrecision(9));
}

/** Rows of the export; with ``latents`` (every item's, flat) each row carries its latent:
 * one ``latent`` list in JSON, columns z0, z1, ... in CSV. */
function rowsFor(ids, names, latents, format) {
  const p = loaded.points;
  const fields = Object.entries(loaded.fields);
  const dim = loaded.model.latent_dim;
  return ids.map((id) => {
    const row = { id, name: names[id], x: float32Text(p.x[id]), y: float32Text(p.y[id]) };
    for (const [name, field] of fields) {
      const value = fieldValue(field, id);
      row[name] = field.type === "number" ? float32Text(value) : value;
    }
    if (latents) {
      const z = Array.from(latents.subarray(id * dim, (id + 1) * dim), float32Text);
      if (format === "csv") z.forEach((value, i) => (row[`z${i}`] = value));
      else row.latent = z;
    }
    return row;
  });
}

/** Whether this format's export carries the latents (a choice beside the buttons: on for
 * JSON, off for CSV, unless the person changes it). */
function withLatents(format) {
  return $(`#export-latents-${format}`).checked;
}

const latentCache = { model: null, values: null };

async function allLatents() {
  if (latentCache.model !== state.model) {
    latentCache.values = await api.latents(state.model);
    latentCache.model = state.model;
  }
  return latentCache.values;
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows) {
  if (!rows.length) return "";
  const columns = Object.keys(rows[0]);
  const lines = [columns.map(csvCell).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(","));
  return `${lines.join("\n")}\n`;
}

/** Download the rows of these item ids (`what` names them in the file name); `latents`: whether
 * the rows carry them (default: the Export tab's choice for this format). */
export async function exportRows(ids, what, format, latents = withLatents(format)) {
  if (!loaded.points) return;
  if (!ids.length) {
    showError(root, `There is nothing to export: the ${what} is empty.`);
    return;
  }
  $(".error", root).hidden = true;
  const vectors = latents ? await allLatents() : null;
  const rows = rowsFor(ids, await allNames(), vectors, format);
  const base = `${state.model}-${state.projection}-${what.replace(/\s+/g, "-")}`;
  if (format === "csv") {
    download(new Blob([toCsv(rows)], { type: "text/csv" }), `${base}.csv`);
  } else {
    const body = { model: state.model, projection: state.projection, count: rows.length, items: rows };
    download(new Blob([JSON.stringify(body, null, 1)], { type: "application/json" }), `${base}.json`);
  }
}

function exportClicked(button) {
  const kind = button.dataset.export;
  const format = button.dataset.format;
  const failed = (error) => showError(root, error);
  if (kind === "visible") exportRows(map.idsInView(), "points", format).catch(failed);
  else if (kind === "selection") {
    const which = $("#export-which").value;
    const ids = { selection: state.selection, a: state.groupA, b: state.groupB }[which];
    const what = which === "selection" ? "selection" : `group ${which.toUpperCase()}`;
    exportRows(ids, what, format).catch(failed);
  } else if (kind === "strip") saveStrip().catch(failed);
  else if (kind === "grid") saveGrid().catch(failed);
}

/** Copy the link to this view (the state is already in the address bar). */
export async function copyLink() {
  saveNow();
  const url = location.href;
  $("#share-url").value = url;
  try {
    await navigator.clipboard.writeText(url);
    toast("Link copied: it reopens this view.", { info: true });
  } catch {
    $("#share-url").select();
    toast("Copy the link from the Export tab: the browser did not allow copying.", { info: true });
  }
}

function setup() {
  $$("[data-export]", root).forEach((button) => button.addEventListener("click", () => exportClicked(button)));
  $("#share-copy").addEventListener("click", copyLink);
  $("#share-button").addEventListener("click", copyLink);
  on("saved", (url) => {
    $("#share-url").value = url;
    showCount();
  });
  on("view", showCount);
  on("tab", (tab) => {
    if (tab !== "export") return;
    showImageButtons();
    showCount();
  });
}

/** How many points "in view" holds, while the tab is open (a count over every point). */
function showCount() {
  if (root.hidden) return;
  $("#export-visible-count").textContent = loaded.points ? `(${map.idsInView().length})` : "";
}

/** The image exports are pressable once there is something to export; until then each says
 * why, beside the buttons. */
function showImageButtons() {
  const images = stripImages();
  const reasons = {
    strip: !images
      ? "No strip yet: run an interpolation in the Interpolate tab."
      : images.some((src) => !src) ? "This model's items have no images: there is no strip to save." : "",
    grid: gridRows() ? "" : "No grid yet: draw one in the Traverse tab.",
  };
  for (const [kind, why] of Object.entries(reasons)) {
    $(`[data-export="${kind}"]`, root).disabled = Boolean(why);
    $(`#export-${kind}-why`).textContent = why;
    $(`#export-${kind}-why`).hidden = !why;
  }
}

export const panel = { name: "export", label: "Export", setup, reset: () => {}, restore: () => {} };
