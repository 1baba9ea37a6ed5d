import { detailOf, postJson, say, signInAndReturn } from './common.js';

const input = document.getElementById('user-code');
const confirm = document.getElementById('confirm');
let current = null;

async function lookup(code) {
  say('status', 'Looking up the code…');
  const { status, body } = await postJson('/api/auth/device/lookup', { userCode: code });
  if (status === 401) {
    const url = new URL(location.href);
    url.searchParams.set('user_code', code);
    history.replaceState(null, '', url.pathname + url.search);
    signInAndReturn();
    return;
  }
  if (status !== 200) {
    confirm.hidden = true;
    say('status', detailOf(body, 'That code was not found.'));
    return;
  }
  current = body.userCode;
  say('d-code', body.userCode);
  say('d-client', body.clientId);
  say('d-ip', body.requestIp ?? 'unknown');
  say('d-agent', body.requestUserAgent ?? 'unknown');
  say('d-expires', new Date(body.expiresAt).toLocaleString());
  confirm.hidden = false;
  say('status', '');
}

async function decide(decision) {
  if (!current) return;
  const { status, body } = await postJson('/api/auth/device/decision', { userCode: current, decision });
  confirm.hidden = true;
  if (status === 401) return signInAndReturn();
  if (status !== 200) return say('status', detailOf(body, 'That did not work. Start again on the device.'));
  say(
    'status',
    body.status === 'approved'
      ? 'Device connected. You can close this page and return to your terminal.'
      : 'Denied. The device was not connected.',
  );
}

document.getElementById('code-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const code = input.value.trim();
  if (code) lookup(code);
});
document.getElementById('approve').addEventListener('click', () => decide('approve'));
document.getElementById('deny').addEventListener('click', () => decide('deny'));

const prefilled = new URLSearchParams(location.search).get('user_code');
if (prefilled) {
  input.value = prefilled;
  lookup(prefilled);
}
