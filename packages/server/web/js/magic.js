import { detailOf, postJson, say } from './common.js';

// Keep the token out of the address bar and history once the page has it.
const token = new URLSearchParams(location.search).get('token');
history.replaceState(null, '', location.pathname);

document.getElementById('magic-verify').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!token) {
    say('status', 'This link has no token. Ask for a new one.');
    return;
  }
  say('status', 'Signing in…');
  const { status, body } = await postJson('/api/auth/magic-link/verify', { token });
  if (status === 200 && body && typeof body.redirectTo === 'string' && body.redirectTo.startsWith('/')) {
    location.assign(body.redirectTo);
    return;
  }
  say('status', detailOf(body, 'This sign-in link is invalid, expired or already used. Ask for a new one.'));
});
