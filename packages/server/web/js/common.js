// Shared helpers of the web pages. No framework: the strict CSP allows only same-origin scripts and
// styles, so every page builds its DOM with these functions (never innerHTML with data) and talks to the
// same JSON API as the SDK, with the HttpOnly session cookie. Nothing is stored in localStorage.

/**
 * Calls a same-origin API path with the session cookie. `body`, when given, is sent as JSON.
 * Resolves (never rejects) with `{ ok, status, body, headers, problem }`: `problem` is set on every failure
 * (see {@link describeProblem}); `status` is 0 when the server could not be reached.
 */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, body: null, headers: new Headers(), problem: describeProblem(0, null) };
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  return {
    ok: res.ok,
    status: res.status,
    body: data,
    headers: res.headers,
    problem: res.ok ? null : describeProblem(res.status, data, res.headers),
  };
}

/** POSTs JSON to a same-origin API path; resolves with { status, body }. */
export async function postJson(path, body) {
  const { status, body: data } = await api('POST', path, body);
  return { status, body: data };
}

/** Who is signed in on this browser: `{ signedIn: false }` or `{ signedIn: true, user: { email, name } }`. */
export async function currentSession() {
  const { ok, body } = await api('GET', '/api/auth/session');
  return ok && body ? body : { signedIn: false };
}

/**
 * The post-login destination to use for a raw `returnTo` taken from a page's query. Pages never link to
 * the raw value: the server's one redirect rule (`safeReturnTo`, asked through `GET /api/auth/return-to`)
 * answers the validated same-origin path. Resolves with that path, or `null` when `raw` is empty, was
 * refused, or the server cannot be reached.
 */
export async function checkedReturnTo(raw) {
  if (!raw) return null;
  const { ok, body } = await api('GET', `/api/auth/return-to?returnTo=${encodeURIComponent(raw)}`);
  if (!ok || !body || body.blocked !== false || typeof body.path !== 'string') return null;
  return body.path;
}

/** The sign-in page's address, coming back to `path` (default: the current page) afterwards. */
export function signInUrl(path = `${location.pathname}${location.search}${location.hash}`) {
  return `/login?returnTo=${encodeURIComponent(path)}`;
}

/** Sends the browser to the sign-in page, coming back to the current page afterwards. */
export function signInAndReturn() {
  location.assign(signInUrl());
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

/** Seconds to wait from a `Retry-After` header (RFC 9110 §10.2.3: seconds or an HTTP date), or null. */
export function retryAfterSeconds(headers) {
  const value = headers?.get?.('retry-after');
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function duration(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

function fieldName(path) {
  return String(path ?? '').replace(/^(body|query|params)\.?/, '') || 'request';
}

/**
 * Turns a failed response into what a person should read: `{ message, code, action }` where `action`,
 * when set, is a link `{ href, label }` to what fixes it (sign in, upgrade, grant a consent). Handles
 * RFC 9457 problem details (`code`, `detail`, `errors`, `upgrade`), 429 with `Retry-After`, and an
 * unreachable server (`status` 0).
 */
export function describeProblem(status, body, headers) {
  const code = body && typeof body.code === 'string' ? body.code : null;
  const detail = body && typeof body.detail === 'string' ? body.detail : null;
  const requestId = body && typeof body.requestId === 'string' ? body.requestId : null;
  if (status === 0) {
    return { code: null, message: 'Fleece cannot be reached. Check your connection and try again.' };
  }
  if (status === 429 || code === 'rate_limited') {
    const wait = retryAfterSeconds(headers);
    if (wait === null) return { code, message: 'Too many requests. Wait a moment, then try again.' };
    const at = new Date(Date.now() + wait * 1000).toLocaleTimeString();
    return {
      code,
      retryAfter: wait,
      message: `Too many requests. Try again in ${duration(wait)} (at ${at}).`,
    };
  }
  if (status === 401 || code === 'unauthenticated') {
    return {
      code,
      message: 'You are signed out (your session ended or was revoked). Sign in again to continue.',
      action: { href: signInUrl(), label: 'Sign in' },
    };
  }
  if (code === 'plan_limit_reached' || body?.upgrade === true) {
    return {
      code,
      message: `${detail ?? 'Your plan does not allow this.'} A higher plan raises the limit.`,
      action: { href: '/settings#billing', label: 'See plans and upgrade' },
    };
  }
  if (code === 'consent_required') {
    return {
      code,
      message: `${detail ?? 'This needs your consent.'} Grant it under Consents in your settings, then try again.`,
      action: { href: '/settings#consents', label: 'Review consents' },
    };
  }
  if (code === 'reauthentication_required') {
    return {
      code,
      message: `${detail ?? 'This needs a recent sign-in.'} Sign in again, then repeat it.`,
      action: { href: signInUrl(), label: 'Sign in again' },
    };
  }
  if (code === 'account_pending_deletion') {
    return {
      code,
      message:
        'Your account is scheduled for deletion, so this is not possible. Cancel the deletion to use it again.',
      action: { href: '/settings#data', label: 'Manage deletion' },
    };
  }
  if (code === 'billing_not_configured') {
    return {
      code,
      message:
        'Billing is not set up on this server, so plans cannot be bought here. Ask its administrator to change your plan.',
    };
  }
  if (code === 'cross_origin_denied') {
    return {
      code,
      message: 'The request was refused because it did not come from this page. Reload and retry.',
    };
  }
  if (code === 'validation_failed' && Array.isArray(body?.errors) && body.errors.length > 0) {
    const list = body.errors.map((e) => `${fieldName(e.path)}: ${e.message}`).join('; ');
    return { code, message: `Check what you entered: ${list}.` };
  }
  if (status >= 500) {
    const base =
      status === 503 && detail ? detail : 'Something went wrong on the server. Try again in a moment.';
    return { code, message: requestId ? `${base} (Request ID ${requestId}.)` : base };
  }
  return {
    code,
    message:
      detail ?? (body && typeof body.title === 'string' ? body.title : `Request failed (HTTP ${status}).`),
  };
}

/**
 * Shows a problem (from {@link describeProblem}) in element `el` (an `role="alert"` paragraph): its
 * message and, when there is one, a link to what fixes it. `null` hides the element.
 */
export function showProblem(el, problem) {
  if (!el) return;
  el.replaceChildren();
  if (!problem) {
    el.hidden = true;
    return;
  }
  el.append(problem.message);
  if (problem.action) {
    el.append(' ');
    el.append(h('a', { href: problem.action.href }, problem.action.label));
  }
  el.hidden = false;
}

/**
 * Creates an element: `h('a', { href: '/x', class: 'y' }, 'text', child)`. Attributes named `on<event>`
 * become listeners; `hidden`, `disabled`, `checked` are set as properties. Text is never parsed as HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'hidden' || name === 'disabled' || name === 'checked' || name === 'value')
      el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A date and time in the reader's locale, or `fallback` for a missing value. */
export function when(iso, fallback = '—') {
  if (!iso) return fallback;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? fallback : d.toLocaleString();
}

/** A date and a time to the minute in the reader's locale (`Dec 7, 2025, 9:34 PM`), or `fallback`. */
export function shortWhen(iso, fallback = '—') {
  if (!iso) return fallback;
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? fallback
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * A `<time>` element for an ISO instant: to the minute in the reader's locale, to the second in its
 * tooltip (`title`).
 */
export function timeEl(iso, fallback = '—') {
  return iso ? h('time', { datetime: iso, title: when(iso, fallback) }, shortWhen(iso, fallback)) : fallback;
}
