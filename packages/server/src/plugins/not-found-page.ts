/**
 * The 404 page a browser gets for an address that is not a page (docs/architecture.md, the web pages): the
 * site's look (`/styles.css`), no script, nothing taken from the request. API clients keep the problem+json
 * answer; see {@link wantsHtmlNotFound}.
 */
export const NOT_FOUND_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Page not found · Fleece</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml">
    <link rel="stylesheet" href="/styles.css">
  </head>
  <body class="auth">
    <header class="topbar">
      <a class="brand" href="/"><img src="/favicon.svg" alt="" width="24" height="24">Fleece</a>
    </header>
    <main class="narrow">
      <div class="card">
        <p class="eyebrow">Error 404</p>
        <h1>Page not found</h1>
        <p>There is no page at this address. The link may be mistyped, or the page may have moved.</p>
        <div class="actions">
          <a class="button" href="/">Go to the home page</a>
          <a class="button secondary" href="/settings">Account settings</a>
        </div>
        <p class="muted">Looking for the API? It lives under <code>/api/</code>; its description is
          <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
      </div>
    </main>
  </body>
</html>
`;

/**
 * The quality (RFC 9110 §12.4.2) that `accept` gives `type/subtype` by its most specific matching range
 * (`type/subtype`, then `type/*`); 0 when none matches.
 */
function quality(accept: string, type: string, subtype: string): number {
  let best = -1;
  let q = 0;
  for (const range of accept.split(',')) {
    const [media = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const [t, s] = media.split('/');
    // `*/*` is left out: it says nothing about which of HTML or JSON the client prefers.
    const specificity = t === type && s === subtype ? 2 : t === type && s === '*' ? 1 : -1;
    if (specificity <= best) continue;
    best = specificity;
    const weight = params.find((p) => p.startsWith('q='));
    const value = weight ? Number(weight.slice(2)) : 1;
    q = Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
  }
  return q;
}

/**
 * Whether a 404 for `method` `path` with header `accept` should be the HTML page: a `GET` or `HEAD` outside
 * `/api/` (however the path is spelled) whose `Accept` names `text/html` (or `text/*`) with a higher
 * quality than both `application/json` and `application/problem+json`, as a browser's navigation does. A
 * missing `Accept`, `*\/*` (curl, fetch) or a tie keeps problem+json.
 */
export function wantsHtmlNotFound(method: string, path: string, accept: string | undefined): boolean {
  if ((method !== 'GET' && method !== 'HEAD') || !accept) return false;
  if (/^\/+api(?:\/|$)/i.test(path)) return false;
  const html = quality(accept, 'text', 'html');
  const json = Math.max(
    quality(accept, 'application', 'json'),
    quality(accept, 'application', 'problem+json'),
  );
  return html > 0 && html > json;
}
