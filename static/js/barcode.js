// A persistence barcode (or diagram) as a Plotly figure, for the Topology tab and the compare
// page: the longest bars of each dimension, each carrying [dim, its index in the diagram] as
// customdata so a click can name it. A diagram is GET topology's {h0, h1}: (birth, death)
// pairs, death null for the bar that never ends.

import { fmt } from "./ui.js";

const SHOWN = 50; // bars drawn per dimension: the longest ones (the rest are noise-scale)
const COLOURS = ["#0072b2", "#d55e00"]; // H0, H1

const finiteDeaths = (d) => [...d.h0, ...d.h1].map(([, death]) => death).filter((x) => x !== null);
export const topScale = (d) => Math.max(1e-9, ...finiteDeaths(d)) * 1.05;
/** How many bars are alive at scale r (Betti number). */
export const alive = (bars, r) => bars.filter(([b, d]) => b <= r && (d === null || d > r)).length;

/** The longest `SHOWN` bars of each dimension, each with its position in the full diagram. */
function shownBars(d) {
  const rows = [];
  for (const [dim, bars] of [[0, d.h0], [1, d.h1]]) {
    const indexed = bars.map(([b, death], i) => ({ dim, i, b, death }));
    const length = (x) => (x.death === null ? Infinity : x.death - x.b);
    indexed.sort((p, q) => length(q) - length(p));
    rows.push(...indexed.slice(0, SHOWN));
  }
  return rows;
}

function traces(d, rows, diagram) {
  const top = topScale(d);
  const end = (x) => (x.death === null ? top : x.death);
  const label = (x) => `H${x.dim} bar ${x.i}: ${fmt(x.b, 3)} to ${x.death === null ? "∞" : fmt(x.death, 3)}`;
  return [0, 1].map((dim) => {
    const mine = rows.filter((x) => x.dim === dim);
    const common = {
      name: `H${dim}`,
      customdata: mine.map((x) => [x.dim, x.i]),
      hovertext: mine.map(label),
      hoverinfo: "text",
      marker: { color: COLOURS[dim] },
    };
    if (diagram) {
      return { ...common, type: "scatter", mode: "markers", x: mine.map((x) => x.b), y: mine.map(end) };
    }
    return {
      ...common,
      type: "bar",
      orientation: "h",
      base: mine.map((x) => x.b),
      x: mine.map((x) => end(x) - x.b),
      y: mine.map((x) => rows.indexOf(x)),
    };
  });
}

/** The line at `scale` (and, on a diagram, the diagonal) over a figure of `count` bars. */
export function scaleShapes(d, count, scale, diagram = false) {
  const top = topScale(d);
  const dotted = { color: "#444", dash: "dot" };
  if (!diagram) return [{ type: "line", x0: scale, x1: scale, y0: -0.5, y1: count - 0.5, line: dotted }];
  return [
    { type: "line", x0: 0, y0: 0, x1: top, y1: top, line: { color: "#888", width: 1 } },
    { type: "line", x0: scale, y0: 0, x1: scale, y1: top, line: dotted },
  ];
}

function layout(d, rows, scale, diagram) {
  const top = topScale(d);
  return {
    margin: { l: 40, r: 10, t: 10, b: 40 },
    height: diagram ? 320 : Math.min(600, Math.max(240, rows.length * 6 + 60)),
    showlegend: true,
    legend: { orientation: "h", y: 1.08 },
    bargap: 0.15,
    xaxis: { title: { text: diagram ? "birth" : "scale (latent distance)" }, range: [0, top], zeroline: false },
    yaxis: diagram ? { title: { text: "death" }, range: [0, top * 1.02] } : { visible: false, autorange: "reversed" },
    shapes: scaleShapes(d, rows.length, scale, diagram),
  };
}

/** The figure of diagram `d`: {data, layout, rows} (rows: how many bars are drawn). */
export function barcodeFigure(d, { diagram = false, scale = 0, height = null } = {}) {
  const rows = shownBars(d);
  const figure = { data: traces(d, rows, diagram), layout: layout(d, rows, scale, diagram), rows: rows.length };
  if (height) figure.layout.height = height;
  return figure;
}
