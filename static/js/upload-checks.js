// What the page tells about an upload beyond the server's answer: how far its reconstruction
// error is from the dataset's (a scale that keeps separating where the percentile saturates),
// and whether its background is the opposite of the dataset's (dark on light against light on
// dark), with an inverted copy to try instead.

import { loaded } from "./state.js";
import { fmt } from "./ui.js";

let median = { points: null, value: null };

/** The median reconstruction error of the dataset's items (from the points), or null. */
export function medianError() {
  const points = loaded.points;
  const values = points && points.reconstruction_error;
  if (!values) return null;
  if (median.points !== points) {
    const sorted = Float64Array.from(values).sort();
    median = { points, value: sorted[Math.floor(sorted.length / 2)] || null };
  }
  return median.value;
}

/** "12× the median" (one decimal below 10). */
export function timesMedian(error) {
  const m = medianError();
  if (error === null || error === undefined || !m) return null;
  const ratio = error / m;
  return { ratio, text: `${ratio < 10 ? fmt(ratio, 1) : fmt(ratio, 0)}× the dataset's median` };
}

async function loadImage(src) {
  const image = new Image();
  image.src = src;
  await image.decode();
  return image;
}

/** The mean brightness (0-1) of an image's outermost ring of pixels: its background. */
export async function borderBrightness(src) {
  const image = await loadImage(src);
  const w = image.naturalWidth;
  const h = image.naturalHeight;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, w, h); // (H, W, RGBA)
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      if (x > 0 && y > 0 && x < w - 1 && y < h - 1) continue;
      const i = 4 * (y * w + x);
      sum += (data[i] + data[i + 1] + data[i + 2]) / (3 * 255);
      n += 1;
    }
  }
  return n ? sum / n : 0;
}

/** Whether the upload's background (its input as the model sees it) is the opposite of its
 * nearest dataset items' (thumbnail URLs): one light and the other dark. */
export async function oppositePolarity(input, itemSources) {
  if (!itemSources.length) return false;
  const mine = await borderBrightness(input);
  const theirs = await Promise.all(itemSources.map(borderBrightness));
  const dataset = theirs.reduce((a, b) => a + b, 0) / theirs.length;
  return Math.abs(mine - dataset) > 0.5;
}

/** The file with its colours inverted (alpha composited on white first), as a PNG. */
export async function invertedFile(file) {
  const url = URL.createObjectURL(file);
  try {
    const image = await loadImage(url);
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0);
    context.globalCompositeOperation = "difference";
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const name = `${file.name.replace(/\.[^.]+$/, "")} (inverted).png`;
    return new File([blob], name, { type: "image/png" });
  } finally {
    URL.revokeObjectURL(url);
  }
}
