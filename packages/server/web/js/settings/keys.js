import { api, h, say, showProblem, timeEl, when } from '../common.js';

/** The API key scopes (`API_KEY_SCOPES` in the contract) and what each allows. */
const SCOPES = [
  ['read', 'Read: every GET'],
  ['write', 'Write: create, change and delete'],
  ['agents:execute', 'Run agents'],
  ['flows:trigger', 'Trigger flows'],
  ['audit:read', 'Read the audit log'],
  ['export', 'Export your data'],
];

/**
 * The scopes checked at first: the contract's `DEFAULT_API_KEY_SCOPES`, the one default of the API, the
 * CLI and this page (least privilege; test/web/settings.test.ts holds this copy to it, and the expiry
 * select's default to `DEFAULT_API_KEY_EXPIRY_DAYS`).
 */
const DEFAULT_SCOPES = ['read'];

/** API keys: create (name, expiry, scopes; shown once with a copy button), list, revoke. */
export function initKeys(ctx) {
  const form = document.getElementById('key-form');
  const error = document.getElementById('keys-error');
  const tbody = document.querySelector('#keys-table tbody');
  const panel = document.getElementById('new-key');
  const value = document.getElementById('new-key-value');
  const scopeList = document.getElementById('key-scope-list');
  /** The id of the key whose secret the panel shows, while it does. */
  let shownKeyId = null;

  for (const [scope, label] of SCOPES) {
    const checked = DEFAULT_SCOPES.includes(scope);
    const id = `scope-${scope.replace(':', '-')}`;
    scopeList.append(
      h(
        'div',
        { class: 'check' },
        h('input', { type: 'checkbox', id, name: 'scopes', value: scope, checked }),
        h('label', { for: id }, label),
      ),
    );
  }

  ctx.onMe((me) => {
    const meter = me.usage.apiKeys;
    const limit = meter?.limit ?? me.entitlements.apiKeys;
    say(
      'keys-usage',
      limit === 0
        ? `Your ${me.plan.name} plan includes no API keys; a higher plan does.`
        : `You use ${meter?.used ?? 0} of the ${limit} keys your ${me.plan.name} plan allows.`,
    );
  });

  async function load() {
    const keys = [];
    let cursor = null;
    do {
      const query = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
      const res = await api('GET', `/api/v1/api-keys${query}`);
      if (!res.ok) return showProblem(error, res.problem);
      keys.push(...res.body.data);
      cursor = res.body.nextCursor;
    } while (cursor);
    tbody.replaceChildren(...keys.map(row));
    document.getElementById('keys-empty').hidden = keys.length > 0;
  }

  function row(key) {
    const expires =
      key.status === 'expired'
        ? h('span', { class: 'badge bad' }, 'Expired')
        : key.expiresAt
          ? timeEl(key.expiresAt)
          : 'Never';
    // A plan change left more keys than the plan allows: the newest stop working until there is room.
    const disabled =
      key.status === 'disabled'
        ? h(
            'span',
            { class: 'badge bad', title: 'Over your plan’s key limit: upgrade, or revoke another key' },
            'Disabled',
          )
        : null;
    const lastUsed = key.lastUsedAt
      ? [timeEl(key.lastUsedAt), key.lastUsedIp ? ` from ${key.lastUsedIp}` : '']
      : 'Never';
    return h(
      'tr',
      { 'data-key-id': key.id },
      h('td', { 'data-label': 'Name' }, key.name, disabled),
      h('td', { 'data-label': 'Key' }, h('code', { class: 'key-start' }, `flc_${key.start}…`)),
      h('td', { 'data-label': 'Scopes' }, key.scopes.join(', ')),
      h('td', { 'data-label': 'Created' }, timeEl(key.createdAt)),
      h('td', { 'data-label': 'Expires' }, expires),
      h('td', { 'data-label': 'Last used' }, lastUsed),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'secondary danger-text small',
            'aria-label': `Revoke key ${key.name}`,
            onclick: () => revoke(key),
          },
          'Revoke',
        ),
      ),
    );
  }

  async function revoke(key) {
    const ok = await ctx.confirm(
      `Revoke “${key.name}”?`,
      `Anything using flc_${key.start}… stops working at once. This cannot be undone.`,
      'Revoke key',
    );
    if (!ok) return;
    const res = await api('DELETE', `/api/v1/api-keys/${encodeURIComponent(key.id)}`);
    if (!res.ok) return showProblem(error, res.problem);
    showProblem(error, null);
    say('copy-status', '');
    // The key just shown is the one revoked: its secret no longer works, so it leaves the page.
    if (shownKeyId === key.id) {
      value.value = '';
      panel.hidden = true;
      shownKeyId = null;
    }
    await Promise.all([load(), ctx.refreshMe()]);
    say('keys-usage', `${document.getElementById('keys-usage').textContent} Key “${key.name}” revoked.`);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const scopes = data.getAll('scopes');
    if (scopes.length === 0) {
      return showProblem(error, { message: 'Choose at least one scope.' });
    }
    const body = { name: String(data.get('name') ?? '').trim(), scopes };
    const expiresIn = String(data.get('expiresIn') ?? '');
    // "never" is the empty choice: sent as null, since an omitted expiry means the 30-day default.
    body.expiresIn = expiresIn ? Number(expiresIn) : null;
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    const res = await api('POST', '/api/v1/api-keys', body);
    submit.disabled = false;
    if (!res.ok) return showProblem(error, res.problem);
    showProblem(error, null);
    // Only the name starts afresh: the scopes and expiry chosen stay as they were, for the next key.
    document.getElementById('key-name').value = '';
    value.value = res.body.key;
    shownKeyId = res.body.id;
    say('copy-status', '');
    say(
      'new-key-heading',
      `Your new key “${res.body.name}”${res.body.expiresAt ? ` (expires ${when(res.body.expiresAt)})` : ''}`,
    );
    panel.hidden = false;
    value.focus();
    value.select();
    await Promise.all([load(), ctx.refreshMe()]);
  });

  document.getElementById('copy-key').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value.value);
      say('copy-status', 'Copied to the clipboard.');
    } catch {
      value.focus();
      value.select();
      say('copy-status', 'Could not copy automatically: the key is selected, press Ctrl+C (⌘C) to copy it.');
    }
  });

  // Once dismissed, the plaintext is gone from the page for good (the server cannot show it again).
  document.getElementById('dismiss-key').addEventListener('click', () => {
    value.value = '';
    shownKeyId = null;
    panel.hidden = true;
    say('copy-status', '');
    document.getElementById('key-name').focus();
  });

  load();
}
