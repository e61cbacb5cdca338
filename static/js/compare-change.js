// Aligned comparison on the compare page: each map turned onto the reference's (GET
// /api/compare/align), each item coloured by how much its latent neighbourhood changed from
// the reference (GET /api/compare/change), and the "What changed" card listing the items
// that changed most. Answers are kept per pair: they do not change while the server runs.

import { api } from "./api.js";
import { $, clearError, el, latestOnly, showError, STALE } from "./ui.js";

export const CHANGE_FIELD = "__neighbourhood_change";
const aligned = new Map(); // "reference/model/projection" -> {x, y} Float32Arrays
const changes = new Map(); // "reference/model" -> the /change answer (a promise while asked)
const card = $("#compare-changed");
const guard = latestOnly();

/** `points` of `model` with its positions aligned onto `reference`'s map. */
export async function alignedPoints(reference, model, projection, points) {
  if (model === reference) return points;
  const key = `${reference}/${model}/${projection}`;
  if (!aligned.has(key)) {
    const answer = await api.align(reference, model, projection);
    aligned.set(key, { x: Float32Array.from(answer.x), y: Float32Array.from(answer.y) });
  }
  return { ...points, ...aligned.get(key) };
}

/** The /change answer for a pair (asked once; concurrent callers share the request). */
export function changeOf(reference, model) {
  const key = `${reference}/${model}`;
  if (!changes.has(key)) {
    const asked = api.change(reference, model, 20);
    asked.catch(() => changes.delete(key)); // a failure is not kept: the next call asks again
    changes.set(key, asked);
  }
  return changes.get(key);
}

// A fixed 0..1 scale, so a colour means the same share on every map: blue kept, red changed.
function changeField(values, label) {
  return {
    label,
    type: "number",
    values,
    range: [0, 1],
    colorscale: [
      [0, "#2166ac"],
      [0.5, "#f1c40f"],
      [1, "#c0392b"],
    ],
  };
}

/** {model: colour field} of the neighbourhood change of every model against `models[0]`;
 * the reference's own map shows the mean over the others. */
export async function changeFields(models) {
  const [reference, ...others] = models;
  const answers = await Promise.all(others.map((m) => changeOf(reference, m)));
  const fields = {};
  const mean = new Float32Array(answers.length ? answers[0].change.length : 0);
  answers.forEach((answer, i) => {
    fields[others[i]] = changeField(answer.change, "neighbourhood change");
    answer.change.forEach((v, id) => (mean[id] += v / answers.length));
  });
  fields[reference] = changeField(mean, "mean neighbourhood change");
  return fields;
}

/** Fill the "What changed" card for `other` against `reference`; `describe(id)` names an
 * item, `pick(id)` lights it up. */
export async function showChanged(reference, other, { describe, pick }) {
  clearError(card);
  delete card.dataset.pair;
  $("#changed-progress").hidden = false;
  let answer;
  try {
    answer = await guard(changeOf(reference, other));
    if (answer === STALE) return;
  } catch (error) {
    showError(card, error);
    return;
  } finally {
    $("#changed-progress").hidden = true;
  }
  const unchanged = answer.change.filter((v) => v === 0).length;
  $("#changed-summary").textContent =
    `Mean change ${answer.mean.toFixed(2)}: ${unchanged} of ${answer.n_items} items keep all ` +
    `${answer.k} neighbours. Changed most:`;
  $("#changed-list").replaceChildren(
    ...answer.most_changed.map(({ id, change }) =>
      el(
        "li",
        {},
        el("button", {
          type: "button",
          class: "linkish",
          dataset: { id: String(id) },
          text: `${describe(id)}: ${Math.round(change * answer.k)} of ${answer.k} neighbours new`,
          onclick: () => pick(id),
        }),
      ),
    ),
  );
  card.dataset.pair = `${reference}|${other}`; // for tests: the list is this pair's
}
