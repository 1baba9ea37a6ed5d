import { currentSession, detailOf, h, postJson, say, signInAndReturn, signInUrl } from './common.js';

const form = document.getElementById('code-form');
const input = document.getElementById('user-code');
const confirm = document.getElementById('confirm');
const approve = document.getElementById('approve');
const deny = document.getElementById('deny');
let current = null;
let decided = false;

/** Enables or disables the code form and the decision buttons together. */
function setActive(active) {
  for (const el of form.elements) el.disabled = !active;
  approve.disabled = !active;
  deny.disabled = !active;
}

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
  approve.focus();
}

async function decide(decision) {
  if (!current || decided) return;
  setActive(false);
  const { status, body } = await postJson('/api/auth/device/decision', { userCode: current, decision });
  if (status === 401) return signInAndReturn();
  if (status !== 200) {
    confirm.hidden = true;
    setActive(true);
    return say('status', detailOf(body, 'That did not work. Start again on the device.'));
  }
  // The request is answered: nothing on this page can change it any more.
  decided = true;
  current = null;
  confirm.hidden = true;
  form.hidden = true;
  const statusEl = document.getElementById('status');
  statusEl.replaceChildren(
    body.status === 'approved'
      ? 'Device connected. You can close this page and return to your terminal.'
      : 'Denied. The device was not connected.',
    ' ',
    h('a', { href: '/settings#sessions' }, 'See your sessions'),
  );
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = input.value.trim();
  if (code && !decided) lookup(code);
});
approve.addEventListener('click', () => decide('approve'));
deny.addEventListener('click', () => decide('deny'));

async function start() {
  const prefilled = new URLSearchParams(location.search).get('user_code');
  const session = await currentSession();
  if (!session.signedIn) {
    // Say why before anything else: approving a device needs the account it will act as.
    setActive(false);
    form.hidden = true;
    const here = `${location.pathname}${location.search}`;
    document
      .getElementById('status')
      .replaceChildren(
        'You must sign in first: the device will act as the account you approve it with. ',
        h('a', { href: signInUrl(here), id: 'sign-in-link' }, 'Sign in to continue'),
      );
    return;
  }
  say('signed-in-as', `Signed in as ${session.user.email}. Only approve a device you started yourself.`);
  if (prefilled) {
    input.value = prefilled;
    lookup(prefilled);
  }
}
start();
