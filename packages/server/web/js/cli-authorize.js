import { detailOf, postJson, say, signInAndReturn } from './common.js';

const params = Object.fromEntries(new URLSearchParams(location.search));

/** Why this page's request cannot be answered, in words, or `null` when it is complete. */
function problemWithRequest() {
  let redirect = null;
  try {
    redirect = new URL(params.redirect_uri);
  } catch {
    redirect = null;
  }
  if (!params.redirect_uri && !params.state && !params.code_challenge) {
    return 'This page was opened without a sign-in request.';
  }
  if (redirect?.protocol !== 'http:' || !['127.0.0.1', '[::1]'].includes(redirect.hostname)) {
    return 'The request does not say where on this computer to return to.';
  }
  if (!params.state || !/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge ?? '')) {
    return 'The request is incomplete: it lacks its security check.';
  }
  return null;
}

const invalid = problemWithRequest();
if (invalid) {
  document.title = 'Sign-in request not valid · Fleece';
  say('heading', 'This CLI sign-in request is not valid');
  document.getElementById('request').hidden = true;
  say('status', '');
  const error = document.getElementById('error');
  error.replaceChildren(
    `${invalid} Run `,
    Object.assign(document.createElement('code'), { textContent: 'fleece login' }),
    ' again in your terminal: it opens this page with everything it needs.',
  );
  error.hidden = false;
} else {
  say('d-client', params.client_id ?? 'fleece-cli');
  say('d-redirect', `a program on this computer (port ${new URL(params.redirect_uri).port || '80'})`);
  document.getElementById('approve').addEventListener('click', () => answer('approve'));
  document.getElementById('deny').addEventListener('click', () => answer('deny'));
}

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
