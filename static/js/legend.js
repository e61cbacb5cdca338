// The legend: class colours, and clickable chips that hide or show a class. With a single
// scattergl trace Plotly's own legend cannot do this: hidden classes become gaps in the trace.

import { categoryColour } from "./colours.js";
import { emit, loaded, state } from "./state.js";
import { $, el } from "./ui.js";

/** The field that the legend chips filter: the colour field when it is categorical. */
export function legendField() {
  const colour = loaded.fields[state.colour];
  if (colour && colour.type === "category") return state.colour;
  const label = loaded.points && loaded.points.label_field;
  return label && loaded.fields[label] && loaded.fields[label].type === "category" ? label : null;
}

/** One chip per class of the legend field, pressed = shown. */
export function renderLegend() {
  const legend = $("#legend");
  const name = legendField();
  // A colour field may say what its scale means (faithfulness does): under the chips.
  const colour = loaded.fields[state.colour];
  const note = colour && colour.note ? el("p", { class: "legend-note", text: colour.note }) : null;
  if (!name) {
    legend.replaceChildren(...(note ? [note] : []));
    return;
  }
  const field = loaded.fields[name];
  const coloured = name === state.colour;
  const counts = new Array(field.categories.length).fill(0);
  for (const code of field.codes) counts[code] += 1;
  const chips = field.categories.map((category, code) =>
    el(
      "button",
      {
        type: "button",
        class: "chip",
        "aria-pressed": String(!state.hidden.has(category)),
        title: `${state.hidden.has(category) ? "Show" : "Hide"} ${name} ${category}`,
        dataset: { category },
        onclick: () => {
          if (state.hidden.has(category)) state.hidden.delete(category);
          else state.hidden.add(category);
          emit("hidden");
        },
      },
      el("span", { class: "swatch", style: `background:${coloured ? categoryColour(code) : "#9aa5b1"}` }),
      el("span", { text: category }),
      el("span", { class: "count", text: String(counts[code]) }),
    ),
  );
  if (state.hidden.size) {
    chips.push(
      el("button", {
        type: "button",
        class: "chip all",
        text: "Show all",
        onclick: () => {
          state.hidden.clear();
          emit("hidden");
        },
      }),
    );
  }
  legend.setAttribute("aria-label", `${name}: press a class to hide or show it`);
  const title = el("span", { class: "legend-title", text: `${name}:` });
  legend.replaceChildren(title, ...chips, ...(note ? [note] : []));
}

