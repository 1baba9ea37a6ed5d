/** Aligned `Label:  value` lines, one per row, for human-readable reports. */
export function table(rows: ReadonlyArray<readonly [label: string, value: string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join('\n');
}

/** A duration in words: `45 s`, `14 min`, `3 h`, `2 days` (rounded down, at least `0 s`). */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} days`;
}

/** When `iso` is relative to `now`: `in 14 min` or `14 min ago`. */
export function relativeTime(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  return delta >= 0 ? `in ${humanDuration(delta)}` : `${humanDuration(-delta)} ago`;
}

/**
 * Parses a duration flag: `90` (seconds), `90s`, `5m`, `1h`. Returns milliseconds, or `undefined` when the
 * value is not a positive duration of at most `maxMs`.
 */
export function parseDuration(value: string, maxMs: number): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
  const ms = Math.round(amount * factor);
  return ms > 0 && ms <= maxMs ? ms : undefined;
}
