// The compare page's table of quality figures (GET /api/compare/table): one row per model,
// one column per figure, the best of each column in bold.

import { $, el } from "./ui.js";

function formatFigure(key, value) {
  if (value === null || value === undefined) return "n/a";
  if (key.includes("accuracy")) return `${(100 * value).toFixed(1)}%`;
  if (key.includes("psnr")) return `${value.toFixed(1)} dB`;
  if (key.startsWith("reconstruction")) return value.toFixed(4);
  return value.toFixed(3);
}

/** The best value of a figure across the models, or null when there is nothing to choose. */
function best(figure) {
  const values = figure.values.filter((v) => v !== null);
  if (new Set(values).size < 2) return null;
  return figure.better === "higher" ? Math.max(...values) : Math.min(...values);
}

/** Fill #figures from the table answer; `reference`: the model marked as such. */
export function renderTable(table, reference) {
  const heads = table.figures.map((f) =>
    el("th", {
      scope: "col",
      // a label that names a split per model is long: a wider column, not a tower of short lines
      class: f.label.length > 40 ? "long" : null,
      dataset: { key: f.key },
      title: `${f.better} is better`,
      text: f.label,
    }),
  );
  $("#figures thead tr").replaceChildren(el("th", { scope: "col", text: "model" }), ...heads);
  const bests = table.figures.map(best);
  const rows = table.models.map((model, m) =>
    el(
      "tr",
      { dataset: { model } },
      el("th", { scope: "row", text: model === reference ? `${model} (reference)` : model }),
      ...table.figures.map((f, j) => {
        const value = f.values[m];
        const classes = [value === null ? "na" : "", value !== null && value === bests[j] ? "better" : ""];
        return el("td", {
          class: classes.join(" ").trim() || null,
          dataset: { key: f.key },
          text: formatFigure(f.key, value),
        });
      }),
    ),
  );
  $("#figures tbody").replaceChildren(...rows);
}
