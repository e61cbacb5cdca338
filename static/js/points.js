// The binary points form (GET points?format=binary; its layout is in app/services/points.py)
// read into typed arrays that view the response buffer in place: no per-point objects, no
// parsing, whatever the number of points.

const MAGIC = "LEXP";
const TYPES = {
  float32: Float32Array,
  uint32: Uint32Array,
  int32: Int32Array,
  int16: Int16Array,
  uint8: Uint8Array,
};
// Typed arrays read in the machine's byte order; the body is little-endian, like every
// machine a browser runs on today. Say so plainly on one that is not.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An ArrayBuffer of the binary form -> the page's points:
 * {model, projection, count, x, y, order, labels, label_field, label_names,
 *  reconstruction_error, faithfulness, metadata: {field: {type: "category", categories, codes} |
 *  {type: "number", values}}}; the columns are typed arrays.
 */
export function decodePoints(buffer) {
  if (!LITTLE_ENDIAN) throw new Error("This page needs a little-endian machine to read the map.");
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== MAGIC) throw new Error("The server sent points in a form this page cannot read.");
  const length = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
  const columns = {};
  for (const { name, dtype, offset, count } of header.columns) {
    const Type = TYPES[dtype];
    if (!Type) throw new Error(`The points column ${name} has an unknown type ${dtype}.`);
    columns[name] = new Type(buffer, offset, count);
  }
  const metadata = {};
  for (const [name, meta] of Object.entries(header.metadata)) {
    const column = columns[`metadata/${name}`];
    metadata[name] =
      meta.type === "category"
        ? { type: "category", categories: meta.categories, codes: column }
        : { type: "number", values: column };
  }
  return {
    model: header.model,
    projection: header.projection,
    count: header.count,
    x: columns.x,
    y: columns.y,
    order: columns.order,
    labels: columns.labels || null,
    label_field: header.label_field,
    label_names: header.label_names,
    reconstruction_error: columns.reconstruction_error,
    faithfulness: columns.faithfulness || null, // of this projection; absent in older indexes
    metadata, // no names: they are not in the binary form (places.js fetches them)
  };
}
