// Shared helpers of the sign-in pages. No framework; the strict CSP allows only same-origin scripts.

/** POSTs JSON to a same-origin API path; resolves with { status, body }. */
export async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  return { status: res.status, body: data };
}

/** Sends the browser to the sign-in page, coming back to the current page afterwards. */
export function signInAndReturn() {
  const here = `${location.pathname}${location.search}`;
  location.assign(`/login?returnTo=${encodeURIComponent(here)}`);
}

/** Writes a message into the element with id `id`. */
export function say(id, text) {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

/** The `detail` of a problem body, or a fallback. */
export function detailOf(body, fallback) {
  return body && typeof body.detail === 'string' ? body.detail : fallback;
}
