// The category colours every map and legend uses: ten distinct ones, then evenly spread hues.

const PALETTE = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

/** The colour of category code `i`. */
export const categoryColour = (i) =>
  i < PALETTE.length ? PALETTE[i] : `hsl(${(i * 137.508) % 360}, 55%, 52%)`;
