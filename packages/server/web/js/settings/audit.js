import { describeActor } from '../actors.js';
import { api, h, say, showProblem, timeEl } from '../common.js';

const PAGE_SIZE = 20;
const OUTCOMES = { success: 'Success', failure: 'Failure', denied: 'Denied' };
/** The badge colour of each outcome. */
const OUTCOME_BADGES = { success: 'ok', failure: 'bad', denied: 'warn' };

/** `text` with a line-break opportunity (`<wbr>`) after each dot, so `api_key.created` wraps at the dot. */
function breakable(text) {
  return text.split(/(?<=\.)/).flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), part]));
}

/** The first instant of a `yyyy-mm-dd` date in the reader's time zone, as ISO 8601 (UTC). */
function startOfDay(date, plusDays = 0) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

/**
 * Audit log: the caller's events newest first, filtered (action prefix, outcome, dates) and paged by
 * cursor; new events arrive live from the Server-Sent Events stream while the first page is shown.
 */
export function initAudit(ctx) {
  const form = document.getElementById('audit-filters');
  const error = document.getElementById('audit-error');
  const tbody = document.querySelector('#audit-table tbody');
  const newer = document.getElementById('audit-newer');
  const older = document.getElementById('audit-older');
  const live = document.getElementById('audit-live');
  let filters = {};
  /** Cursors of the pages shown so far: [null (first page), cursor of page 2, …]. */
  let cursors = [null];
  let nextCursor = null;
  let source = null;

  function query(cursor) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
    if (cursor) params.set('cursor', cursor);
    return params.toString();
  }

  function matches(event) {
    if (filters.action && !event.action.startsWith(filters.action)) return false;
    if (filters.outcome && event.outcome !== filters.outcome) return false;
    if (filters.since && event.occurredAt < filters.since) return false;
    if (filters.until && event.occurredAt >= filters.until) return false;
    return true;
  }

  function row(event, fresh = false) {
    // The type, then the id on a line of its own (cut to the column on a wide screen; whole in its title).
    const resource = event.resourceId
      ? [event.resourceType, ' ', h('code', { class: 'id', title: event.resourceId }, event.resourceId)]
      : [event.resourceType];
    // The words of `fleece audit list` (an actor with your subject is you, also as an administrator).
    const by = describeActor(event);
    return h(
      'tr',
      { 'data-event-id': event.id, 'data-action': event.action, class: fresh ? 'fresh' : null },
      h('td', { 'data-label': 'When' }, timeEl(event.occurredAt)),
      h('td', { 'data-label': 'Action' }, h('code', {}, ...breakable(event.action))),
      h(
        'td',
        { 'data-label': 'Outcome' },
        h(
          'span',
          { class: `badge ${OUTCOME_BADGES[event.outcome] ?? ''}` },
          OUTCOMES[event.outcome] ?? event.outcome,
        ),
      ),
      h('td', { 'data-label': 'Resource' }, ...resource),
      h('td', { 'data-label': 'By' }, by),
      h('td', { 'data-label': 'IP address' }, event.ip ?? '—'),
    );
  }

  async function show(pageIndex) {
    const res = await api('GET', `/api/v1/audit-events?${query(cursors[pageIndex])}`);
    if (!res.ok) return showProblem(error, res.problem);
    showProblem(error, null);
    cursors = cursors.slice(0, pageIndex + 1);
    nextCursor = res.body.nextCursor;
    tbody.replaceChildren(...res.body.data.map((e) => row(e)));
    document.getElementById('audit-empty').hidden = res.body.data.length > 0;
    newer.disabled = pageIndex === 0;
    older.disabled = !nextCursor;
    say('audit-page', `Page ${pageIndex + 1}`);
    tbody.dataset.page = String(pageIndex);
  }

  function onEvent(message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    // Only the first page shows the newest events; later pages stay still while you read them.
    if (tbody.dataset.page !== '0' || !matches(event)) return;
    if (tbody.querySelector(`tr[data-event-id="${CSS.escape(event.id)}"]`)) return;
    tbody.prepend(row(event, true));
    while (tbody.rows.length > PAGE_SIZE) tbody.lastElementChild.remove();
    document.getElementById('audit-empty').hidden = true;
    if (tbody.rows.length === PAGE_SIZE) older.disabled = false;
  }

  function connect() {
    source?.close();
    source = null;
    if (!live.checked) {
      say('audit-live-status', 'Live updates are off.');
      return;
    }
    say('audit-live-status', 'Connecting…');
    source = new EventSource('/api/v1/audit-events/stream');
    source.addEventListener('open', () =>
      say('audit-live-status', 'Live: new events appear as they happen.'),
    );
    source.addEventListener('audit.event', onEvent);
    source.addEventListener('error', () => {
      say(
        'audit-live-status',
        source?.readyState === EventSource.CLOSED
          ? 'Live updates stopped. Reload the page to resume them.'
          : 'Reconnecting to live updates…',
      );
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const since = String(data.get('since') ?? '');
    const until = String(data.get('until') ?? '');
    if (since && until && until < since) {
      return showProblem(error, { message: 'The “until” date must not be before the “from” date.' });
    }
    filters = {
      action: String(data.get('action') ?? ''),
      outcome: String(data.get('outcome') ?? ''),
      since: since ? startOfDay(since) : '',
      until: until ? startOfDay(until, 1) : '',
    };
    cursors = [null];
    show(0);
  });
  newer.addEventListener('click', () => show(Math.max(0, cursors.length - 2)));
  older.addEventListener('click', () => {
    if (!nextCursor) return;
    cursors.push(nextCursor);
    show(cursors.length - 1);
  });
  live.addEventListener('change', connect);
  window.addEventListener('pagehide', () => source?.close());
  // Signed out (the account deletion revoked this session): stop, rather than reconnect and be refused.
  ctx.stopLiveAudit = () => {
    source?.close();
    source = null;
    live.checked = false;
    live.disabled = true;
  };

  show(0).then(connect);
}
