// Checks events against the API's event contract (GET /events.schema.json, JSON Schema
// 2020-12). A small validator for the keywords that document uses: $ref to #/$defs, type,
// enum, const, required, properties, additionalProperties: false, anyOf/oneOf/allOf,
// if/then, minimum and pattern. The console counts and shows events that do not match.

const TYPES = {
  string: (v) => typeof v === "string",
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === "number" && Number.isFinite(v),
  boolean: (v) => typeof v === "boolean",
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  null: (v) => v === null,
};

/** Errors (strings; empty: valid) of `value` against `schema` within `root`. */
export function validate(root, value, schema = root, path = "") {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path || "/"}: not allowed`];
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/\$defs\//, "");
    return validate(root, value, root.$defs?.[name], path);
  }
  const errors = [];
  const at = path || "/";
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => TYPES[t]?.(value))) return [`${at}: expected ${types.join("|")}`];
  }
  if (schema.enum && !schema.enum.some((x) => x === value)) errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if ("const" in schema && schema.const !== value) errors.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (typeof schema.minimum === "number" && typeof value === "number" && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
  if (schema.pattern && typeof value === "string" && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${at}: does not match ${schema.pattern}`);
  if (TYPES.object(value)) {
    for (const key of schema.required || []) if (!(key in value)) errors.push(`${at}: missing ${key}`);
    const props = schema.properties || {};
    for (const [key, sub] of Object.entries(props)) {
      if (key in value) errors.push(...validate(root, value[key], sub, `${path}/${key}`));
    }
    if (schema.additionalProperties === false) {
      for (const key of Object.keys(value)) if (!(key in props)) errors.push(`${at}: unexpected ${key}`);
    }
  }
  for (const sub of schema.allOf || []) errors.push(...validate(root, value, sub, path));
  if (schema.anyOf && !schema.anyOf.some((sub) => validate(root, value, sub, path).length === 0)) errors.push(`${at}: matches no anyOf branch`);
  if (schema.oneOf && schema.oneOf.filter((sub) => validate(root, value, sub, path).length === 0).length !== 1) errors.push(`${at}: must match exactly one oneOf branch`);
  if (schema.if && validate(root, value, schema.if, path).length === 0 && schema.then) errors.push(...validate(root, value, schema.then, path));
  return errors;
}

/** Errors of one SSE event ({type, id, data}) against the contract document. */
export function checkEvent(document, { type, id, data }) {
  const envelope = { event: type, data };
  if (id) envelope.id = id;
  return validate(document, envelope);
}

/** The event names the contract lists. */
export const eventTypes = (document) => document?.properties?.event?.enum || null;
