import { detailOf, postJson, say, signInAndReturn } from './common.js';

const params = Object.fromEntries(new URLSearchParams(location.search));
say('d-client', params.client_id ?? 'fleece-cli');
let port = '';
try {
  port = new URL(params.redirect_uri).port;
} catch {
  port = '';
}
say('d-redirect', port ? `a program on this computer (port ${port})` : 'unknown');

async function answer(decision) {
  say('status', decision === 'approve' ? 'Authorizing…' : 'Cancelling…');
  const { status, body } = await postJson('/api/auth/cli/authorize', { ...params, decision });
  if (status === 401) return signInAndReturn();
  if (status === 200 && body && typeof body.redirectTo === 'string') {
    say('status', decision === 'approve' ? 'Done. You can return to your terminal.' : 'Cancelled.');
    location.assign(body.redirectTo);
    return;
  }
  say('status', detailOf(body, 'This request is not valid. Start again from the CLI.'));
}

document.getElementById('approve').addEventListener('click', () => answer('approve'));
document.getElementById('deny').addEventListener('click', () => answer('deny'));
