import { currentSession, h } from './common.js';

// The home page says who is signed in on this browser, with the way to settings or to sign in.
const account = document.getElementById('account');
currentSession().then((session) => {
  if (session.signedIn) {
    const who = session.user.name ? `${session.user.name} (${session.user.email})` : session.user.email;
    account.replaceChildren(
      `Signed in as ${who}. `,
      h('a', { href: '/settings' }, 'Account settings'),
      ' (API keys, sessions, audit log, data, plan).',
    );
  } else {
    account.replaceChildren(
      'You are not signed in. ',
      h('a', { href: '/login?returnTo=%2Fsettings' }, 'Sign in'),
      ' to manage your account.',
    );
  }
});
