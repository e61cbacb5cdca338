// The explorer page's map: the shared map component (map.js) on #map, with the overlays the
// panels draw above the points. Constructing it touches nothing: it binds its events at its
// first draw (main.js draws it once the model's points are in).

import { LatentMap } from "./map.js";
import { $ } from "./ui.js";

// Drawn above the points, in this order; each is one trace named after its key.
const OVERLAYS = {
  search: { symbol: "circle-open", size: 10, color: "#e6007e", line: 1.5 },
  groupA: { symbol: "square-open", size: 9, color: "rgba(11,122,87,0.75)", line: 1.5 },
  groupB: { symbol: "diamond-open", size: 10, color: "rgba(176,18,91,0.75)", line: 1.5 },
  topoA: { symbol: "circle-open", size: 11, color: "#0072b2", line: 2.5 },
  loop: { symbol: "hexagon", size: 12, color: "#ffd400", line: 1.5, lineColor: "#1c232b" },
  neighbours: { symbol: "circle-open", size: 15, color: "#111111", line: 2.5 },
  path: { symbol: "circle", size: 8, color: "#ffffff", line: 2, lineColor: "#1c232b", mode: "lines+markers" },
  anomalous: { symbol: "circle-open", size: 10, color: "#d62728", line: 1.2 },
  anomalousUploads: { symbol: "circle-open", size: 26, color: "#d62728", line: 3 },
  uploads: { symbol: "star", size: 17, color: "#ffc400", line: 1.5, lineColor: "#1c232b", hover: true },
  result: { symbol: "x", size: 15, color: "#d62728", line: 1.5, lineColor: "#ffffff" },
  frame: { symbol: "circle", size: 14, color: "rgba(47,111,189,0.35)", line: 3, lineColor: "#2f6fbd" },
};

export const map = new LatentMap($("#map"), { overlays: OVERLAYS, tool: "probe", faded: 0.25 });

/** Show or hide the spinner over the map while its points load. */
export function setLoading(on) {
  $("#map-loading").hidden = !on;
}
