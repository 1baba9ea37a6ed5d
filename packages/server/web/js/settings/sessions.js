import { api, h, say, showProblem, timeEl } from '../common.js';

const METHODS = {
  magic_link: 'Email link',
  google: 'Google',
  github: 'GitHub',
  entra: 'Microsoft',
  device: 'Device code',
  cli: 'CLI browser sign-in',
};

/** A short description of a user agent string: browser and system, or the Fleece CLI / SDK. */
export function describeAgent(ua) {
  if (!ua) return 'Unknown device';
  if (/fleece-cli|@fleece\/cli/i.test(ua)) return 'Fleece CLI';
  if (/fleece-sdk|@fleece\/sdk/i.test(ua)) return 'Fleece SDK';
  const browser =
    (/Edg\//.test(ua) && 'Edge') ||
    (/Firefox\//.test(ua) && 'Firefox') ||
    (/(Chrome|Chromium)\//.test(ua) && 'Chrome') ||
    (/Safari\//.test(ua) && 'Safari') ||
    (/curl\//.test(ua) && 'curl') ||
    null;
  const system =
    (/Windows/.test(ua) && 'Windows') ||
    (/Android/.test(ua) && 'Android') ||
    (/iPhone|iPad/.test(ua) && 'iOS') ||
    (/Mac OS X/.test(ua) && 'macOS') ||
    (/Linux/.test(ua) && 'Linux') ||
    null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? ua.slice(0, 60);
}

/** Sessions: list, revoke one (the current one signs this browser out), revoke every other one. */
export function initSessions(ctx) {
  const error = document.getElementById('sessions-error');
  const tbody = document.querySelector('#sessions-table tbody');
  const more = document.getElementById('sessions-more');
  let cursor = null;

  async function load(append = false) {
    const query = append && cursor ? `?limit=50&cursor=${encodeURIComponent(cursor)}` : '?limit=50';
    const res = await api('GET', `/api/v1/sessions${query}`);
    if (!res.ok) return showProblem(error, res.problem);
    const rows = res.body.data.map(row);
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    cursor = res.body.nextCursor;
    more.hidden = !cursor;
  }

  function row(s) {
    const device =
      s.kind === 'cli'
        ? `${describeAgent(s.userAgent)}${s.clientId ? ` (${s.clientId})` : ''}`
        : describeAgent(s.userAgent);
    return h(
      'tr',
      { 'data-session-id': s.id, class: s.current ? 'current' : null },
      h(
        'td',
        { 'data-label': 'Device', title: s.userAgent ?? '' },
        device,
        s.current ? h('span', { class: 'badge info' }, 'This browser') : null,
      ),
      h('td', { 'data-label': 'Signed in with' }, METHODS[s.method] ?? s.method),
      h('td', { 'data-label': 'IP address' }, s.ip ?? '—'),
      h('td', { 'data-label': 'Started' }, timeEl(s.createdAt)),
      h('td', { 'data-label': 'Last active' }, timeEl(s.lastUsedAt)),
      h('td', { 'data-label': 'Ends' }, timeEl(s.expiresAt)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: s.current ? 'secondary small' : 'secondary danger-text small',
            'aria-label': s.current ? 'Sign out this browser' : `Revoke session on ${device}`,
            onclick: () => revoke(s, device),
          },
          s.current ? 'Sign out' : 'Revoke',
        ),
      ),
    );
  }

  async function revoke(s, device) {
    const ok = await ctx.confirm(
      s.current ? 'Sign out this browser?' : `Revoke the session on ${device}?`,
      s.current ? 'You will need to sign in again.' : 'That device is signed out at once.',
      s.current ? 'Sign out' : 'Revoke session',
    );
    if (!ok) return;
    const res = await api('DELETE', `/api/v1/sessions/${encodeURIComponent(s.id)}`);
    if (!res.ok) return showProblem(error, res.problem);
    if (s.current) return location.assign('/login');
    showProblem(error, null);
    say('sessions-status', `Session on ${device} revoked.`);
    await load();
  }

  document.getElementById('revoke-others').addEventListener('click', async () => {
    const ok = await ctx.confirm(
      'Sign out all other sessions?',
      'Every other browser and CLI signed in as you is signed out at once. This browser stays signed in.',
      'Sign out others',
    );
    if (!ok) return;
    const res = await api('DELETE', '/api/v1/sessions');
    if (!res.ok) return showProblem(error, res.problem);
    showProblem(error, null);
    const n = res.body.revoked;
    say(
      'sessions-status',
      n === 0 ? 'No other session was active.' : `Signed out ${n} other session${n === 1 ? '' : 's'}.`,
    );
    await load();
  });
  more.addEventListener('click', () => load(true));

  load();
}
