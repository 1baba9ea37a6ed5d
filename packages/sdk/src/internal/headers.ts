/**
 * Header values as the SDK accepts them: a `Headers` object, an array of pairs, or a record whose
 * `null` values remove a header set by an earlier layer (for example a default header).
 */
export type HeadersLike =
  | Headers
  | ReadonlyArray<readonly [string, string]>
  | Record<string, string | null | undefined>;

/** Applies header layers in order onto one `Headers`: later layers win, `null` deletes. */
export function mergeHeaders(...layers: ReadonlyArray<HeadersLike | undefined>): Headers {
  const result = new Headers();
  for (const layer of layers) {
    if (!layer) continue;
    if (layer instanceof Headers) {
      for (const [name, value] of layer) result.set(name, value);
    } else if (Array.isArray(layer)) {
      for (const [name, value] of layer as ReadonlyArray<readonly [string, string]>) result.set(name, value);
    } else {
      for (const [name, value] of Object.entries(layer as Record<string, string | null | undefined>)) {
        if (value === null) result.delete(name);
        else if (value !== undefined) result.set(name, value);
      }
    }
  }
  return result;
}

/**
 * Applies header layers in order onto a plain record with lower-case names: later layers win, `null`
 * deletes. The same rules as {@link mergeHeaders}, without building a `Headers` (the request hot path).
 */
export function mergeHeaderRecord(...layers: ReadonlyArray<HeadersLike | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (layer instanceof Headers) {
      for (const [name, value] of layer) result[name] = value;
    } else if (Array.isArray(layer)) {
      for (const [name, value] of layer as ReadonlyArray<readonly [string, string]>) {
        result[name.toLowerCase()] = value;
      }
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
