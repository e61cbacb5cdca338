// Every panel of the explorer page: the one list main.js loops over. The ones with a label are
// tabs, in this order (tabs.js makes their buttons); the others are cards of their own.
//
// Each panel module exports `panel`: {name, label, setup(), reset(), restore()}:
//   name     its element is #panel-<name> (a tab) or #<name> (a card);
//   label    the tab's text, or null for a card;
//   setup    once, before the first model: wire the controls and subscribe to state events;
//   reset    another model is about to load: drop what belonged to the last one;
//   restore  the model's points and attribute vectors are in: fill the controls from the state
//            (the URL) and rerun what was open.

import { panel as anomaly } from "./anomaly.js";
import { panel as arithmetic } from "./arithmetic.js";
import { panel as exporting } from "./export.js";
import { panel as interpolate } from "./interpolate.js";
import { panel as neighbours } from "./neighbours.js";
import { panel as outliers } from "./outliers.js";
import { panel as preview } from "./preview.js";
import { panel as search } from "./search.js";
import { panel as selection } from "./selection.js";
import { panel as topology } from "./topology.js";
import { panel as traverse } from "./traverse.js";
import { panel as upload } from "./upload.js";

// The preview restores last: the place it shows feeds the neighbours tab ("here").
export const PANELS = [interpolate, arithmetic, upload, neighbours, traverse, exporting, topology, anomaly, outliers, search, selection, preview];
