// The settings page: loads the account (GET /api/v1/me) and starts each section. Every section talks to
// the JSON API with the session cookie; writes carry this page's Origin, which the server checks.
import { api, currentSession, describeProblem, say, showProblem, signInAndReturn } from '../common.js';
import { initAudit } from './audit.js';
import { initBilling } from './billing.js';
import { initConsents } from './consents.js';
import { initData, loadDeletion } from './data.js';
import { initKeys } from './keys.js';
import { initProfile } from './profile.js';
import { initSessions } from './sessions.js';

const dialog = document.getElementById('confirm-dialog');

/** Asks for confirmation in a modal dialog; resolves `true` when the person confirms. */
function confirmAction(title, text, confirmLabel) {
  say('confirm-title', title);
  say('confirm-text', text);
  say('confirm-yes', confirmLabel);
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}

const listeners = new Set();
const ctx = {
  me: null,
  confirm: confirmAction,
  /** Reloads the account and tells every section (usage counts, plan, deletion state). */
  async refreshMe() {
    const res = await api('GET', '/api/v1/me');
    if (res.status === 401) return signInAndReturn();
    if (!res.ok) {
      showProblem(document.getElementById('page-error'), res.problem);
      return null;
    }
    ctx.me = res.body;
    for (const listener of listeners) listener(ctx.me);
    return ctx.me;
  },
  /** Calls `listener(me)` now (when loaded) and after every refresh. */
  onMe(listener) {
    listeners.add(listener);
    if (ctx.me) listener(ctx.me);
  },
};

const NOTICES = {
  deletion_cancelled: 'Deletion cancelled. Your account is active again.',
  checkout_success:
    'Thank you: payment received. Your plan changes as soon as Stripe confirms the subscription, usually within seconds; reload to see it.',
  checkout_cancelled: 'Checkout cancelled: nothing was charged and your plan is unchanged.',
};

function wireSignOut() {
  const signOut = document.getElementById('sign-out');
  signOut.hidden = false;
  signOut.addEventListener('click', async () => {
    const res = await api('POST', '/api/auth/logout');
    if (res.ok) location.assign('/login');
    else showProblem(document.getElementById('page-error'), res.problem);
  });
}

function show(ids) {
  for (const section of document.querySelectorAll('main > section'))
    section.hidden = !ids.includes(section.id);
  const nav = document.querySelectorAll('nav.sections a');
  for (const link of nav) link.parentElement.hidden = !ids.includes(link.hash.slice(1));
}

/**
 * Marks the side navigation's link to the section being read with `aria-current`, as the page scrolls:
 * the last section whose top has passed under the top bar; at the end of the page, the section the address
 * names when it is in view (a short last section cannot reach the top), else the last one.
 */
function trackCurrentSection() {
  const links = [...document.querySelectorAll('nav.sections a')];
  const update = () => {
    const sections = links
      .map((link) => document.getElementById(link.hash.slice(1)))
      .filter((section) => section && !section.hidden);
    if (sections.length === 0) return;
    let current = sections[0];
    for (const section of sections) if (section.getBoundingClientRect().top <= 140) current = section;
    const atEnd = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2;
    if (atEnd) {
      const named = sections.find((section) => `#${section.id}` === location.hash);
      const top = named?.getBoundingClientRect().top;
      current = named && top !== undefined && top >= 0 && top < window.innerHeight ? named : sections.at(-1);
    }
    for (const link of links) {
      if (link.hash === `#${current.id}`) link.setAttribute('aria-current', 'location');
      else link.removeAttribute('aria-current');
    }
  };
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      update();
    });
  };
  window.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', schedule);
  window.addEventListener('hashchange', schedule);
  update();
}

async function start() {
  const session = await currentSession();
  if (!session.signedIn) return signInAndReturn();
  document.getElementById('who').textContent = `Signed in as ${session.user.email}`;
  wireSignOut();
  // Notices passed in the address: ours after a deletion is cancelled, Stripe Checkout's return URLs
  // (`?checkout=success&session_id=…` or `?checkout=cancelled`). Read once, then dropped from the address.
  const params = new URLSearchParams(location.search);
  const checkout = params.get('checkout');
  const notice = checkout ? `checkout_${checkout}` : params.get('notice');
  if (params.size > 0) history.replaceState(null, '', `${location.pathname}${location.hash}`);
  // A request or a cancellation of deletion changes what the account may do: start the page again.
  ctx.deletionCancelled = () => location.replace('/settings?notice=deletion_cancelled#data');
  ctx.deletionRequested = () => {
    ctx.stopLiveAudit?.();
    show(['data']);
    document.getElementById('who').textContent = 'Signed out';
    document.getElementById('sign-out').hidden = true;
  };
  const deletion = await loadDeletion();
  if (deletion?.status === 'pending_deletion') {
    // Only the deletion itself can be managed now; everything else answers account_pending_deletion.
    ctx.me = { user: { email: session.user.email } };
    show(['data']);
    say('page-status', NOTICES[notice] ?? '');
    await initData(ctx);
    trackCurrentSection();
    return;
  }
  const me = await ctx.refreshMe();
  if (!me) return;
  show([...document.querySelectorAll('main > section')].map((s) => s.id));
  say('page-status', NOTICES[notice] ?? '');
  initProfile(ctx);
  initKeys(ctx);
  initSessions(ctx);
  initAudit(ctx);
  initData(ctx);
  initConsents(ctx);
  initBilling(ctx);
  // Sections were hidden while loading; land on the one the address names.
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  trackCurrentSection();
}

start().catch(() => {
  showProblem(document.getElementById('page-error'), describeProblem(0, null));
});
