// Strips and grids of decoded images drawn onto a canvas and saved as PNG files.

import { download } from "./ui.js";

const GAP = 4;
const LABEL_FONT = "12px system-ui, sans-serif";

function loadImage(src) {
  const image = new Image();
  image.src = src;
  return image.decode().then(() => image);
}

/** rows: [{label, images: [dataURL]}], columns: optional header texts. */
export async function saveImageGrid(rows, filename, columns = null) {
  const loadedRows = await Promise.all(rows.map((row) => Promise.all(row.images.map(loadImage))));
  const first = loadedRows[0][0];
  // Scale small images up by a whole factor so pixels stay crisp.
  const scale = Math.max(1, Math.floor(96 / first.naturalHeight));
  const cell = first.naturalHeight * scale;
  const cellW = first.naturalWidth * scale;
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = LABEL_FONT;
  const labelW = rows.some((r) => r.label)
    ? Math.ceil(Math.max(...rows.map((r) => measure.measureText(r.label || "").width))) + 2 * GAP
    : 0;
  const headerH = columns ? 18 : 0;
  const ncols = Math.max(...loadedRows.map((r) => r.length));
  const canvas = document.createElement("canvas");
  canvas.width = labelW + ncols * (cellW + GAP) + GAP;
  canvas.height = headerH + rows.length * (cell + GAP) + GAP;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.font = LABEL_FONT;
  ctx.fillStyle = "#333333";
  ctx.textBaseline = "middle";
  if (columns) {
    ctx.textAlign = "center";
    columns.forEach((text, c) => {
      ctx.fillText(text, labelW + GAP + c * (cellW + GAP) + cellW / 2, headerH / 2 + 2);
    });
  }
  ctx.textAlign = "right";
  loadedRows.forEach((images, r) => {
    const top = headerH + GAP + r * (cell + GAP);
    if (labelW) ctx.fillText(rows[r].label, labelW - GAP, top + cell / 2);
    images.forEach((image, c) => {
      ctx.drawImage(image, labelW + GAP + c * (cellW + GAP), top, cellW, cell);
    });
  });
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  download(blob, filename);
  return { width: canvas.width, height: canvas.height };
}
