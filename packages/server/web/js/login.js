import { checkedReturnTo, currentSession, detailOf, h, postJson, say } from './common.js';

const MESSAGES = {
  state_missing: 'The sign-in took too long or was started elsewhere. Try again.',
  access_denied: 'Sign-in was cancelled at the provider.',
  email_unverified: 'Your provider account has no verified email address. Use a sign-in link instead.',
  email_unverified_conflict: 'That provider does not confirm your email address. Use a sign-in link instead.',
  account_inactive: 'This account is suspended or being deleted.',
  provider_unavailable:
    'That sign-in provider cannot be reached right now. Try again, or use a sign-in link.',
  invalid_or_used_token: 'This sign-in link is invalid, expired or already used. Ask for a new one.',
};

const params = new URLSearchParams(location.search);
// Where to go after signing in: the server's validated answer for the query's returnTo, never the raw value.
const checked = checkedReturnTo(params.get('returnTo'));
const error = params.get('error');
if (error) {
  const el = document.getElementById('error');
  el.textContent = MESSAGES[error] ?? 'Sign-in failed. Try again.';
  el.hidden = false;
}

/** Where sign-in links go (`email`, or `server-log` on a development server without an email provider). */
let delivery = 'email';

async function loadProviders() {
  const res = await fetch('/api/auth/providers', { headers: { accept: 'application/json' } });
  if (!res.ok) return;
  const { providers, magicLinkDelivery } = await res.json();
  delivery = magicLinkDelivery;
  document.getElementById('magic-delivery').hidden = magicLinkDelivery !== 'server-log';
  const returnTo = await checked;
  const list = document.getElementById('providers');
  for (const p of providers) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = returnTo ? `${p.loginUrl}?returnTo=${encodeURIComponent(returnTo)}` : p.loginUrl;
    a.className = 'button secondary block';
    a.textContent = `Continue with ${p.name}`;
    li.append(a);
    list.append(li);
  }
  document.getElementById('providers-section').hidden = providers.length === 0;
}

document.getElementById('magic-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = document.getElementById('email').value.trim();
  if (!email.includes('@')) {
    say('magic-status', 'Enter your email address.');
    return;
  }
  say('magic-status', 'Sending…');
  const returnTo = await checked;
  const { status, body } = await postJson('/api/auth/magic-link', returnTo ? { email, returnTo } : { email });
  say(
    'magic-status',
    status === 202
      ? delivery === 'server-log'
        ? `If ${email} can sign in, its link is now printed in the terminal where the server runs. It works for 15 minutes, once.`
        : `If ${email} can sign in, a link is on its way. It works for 15 minutes, once.`
      : detailOf(body, 'The link could not be sent. Try again later.'),
  );
});

loadProviders();

// Already signed in on this browser: say so, with the way on (signing in again switches accounts).
currentSession().then(async (session) => {
  if (!session.signedIn) return;
  const target = (await checked) ?? '/settings';
  document
    .getElementById('signed-in')
    .replaceChildren(
      `You are already signed in as ${session.user.email}. `,
      h('a', { href: target }, 'Continue'),
      ' or sign in with another account below.',
    );
});
