/**
 * Header values as the SDK accepts them: a `Headers` object, an array of pairs, or a record whose
 * `null` values remove a header set by an earlier layer (for example a default header).
 */
export type HeadersLike =
  | Headers
  | ReadonlyArray<readonly [string, string]>
  | Record<string, string | null | undefined>;

/**
 * Applies header layers in order onto a plain record with lower-case names: later layers win, `null`
 * deletes a header set by an earlier layer. It never touches the global `Headers` unless a layer is one:
 * that global loads Node's bundled undici, a cost a short-lived process should not pay for nothing.
 */
export function mergeHeaderRecord(...layers: ReadonlyArray<HeadersLike | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (Array.isArray(layer)) {
      for (const [name, value] of layer as ReadonlyArray<readonly [string, string]>) {
        result[name.toLowerCase()] = value;
      }
    } else if (isHeadersObject(layer)) {
      for (const [name, value] of layer) result[name.toLowerCase()] = value;
    } else {
      for (const name in layer as Record<string, string | null | undefined>) {
        const value = (layer as Record<string, string | null | undefined>)[name];
        if (value === null) delete result[name.toLowerCase()];
        else if (value !== undefined) result[name.toLowerCase()] = value;
      }
    }
  }
  return result;
}

/** Whether `layer` is a `Headers` (or another iterable of pairs), not a plain record. */
function isHeadersObject(layer: HeadersLike): layer is Headers {
  const prototype = Object.getPrototypeOf(layer) as object | null;
  return prototype !== Object.prototype && prototype !== null && Symbol.iterator in layer;
}
