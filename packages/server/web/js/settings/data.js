import { api, describeProblem, h, say, showProblem, signInUrl, when } from '../common.js';

/** The file name a download should get: from `Content-Disposition`, else `fallback`. */
function fileName(headers, fallback) {
  const header = headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

/** Loads the account's deletion state (`GET /api/v1/account/deletion`); `null` when it cannot be read. */
export async function loadDeletion() {
  const res = await api('GET', '/api/v1/account/deletion');
  return res.ok ? res.body : null;
}

/**
 * Data: export everything (NDJSON or ZIP, downloaded through the session) and delete the account (typed
 * confirmation, grace-period notice) or cancel a pending deletion.
 */
export function initData(ctx) {
  const exportError = document.getElementById('export-error');
  const deleteForm = document.getElementById('delete-form');
  const confirmInput = document.getElementById('delete-confirm');
  const submit = document.getElementById('delete-submit');
  const deletionError = document.getElementById('deletion-error');
  const pending = document.getElementById('deletion-pending');
  const cancel = document.getElementById('cancel-deletion');
  let graceDays = null;

  async function download(format) {
    showProblem(exportError, null);
    say('export-status', 'Preparing your export…');
    let res;
    try {
      res = await fetch(`/api/v1/export${format === 'zip' ? '?format=zip' : ''}`, {
        credentials: 'same-origin',
        headers: { accept: format === 'zip' ? 'application/zip' : 'application/x-ndjson' },
      });
    } catch {
      say('export-status', '');
      return showProblem(exportError, describeProblem(0, null));
    }
    if (!res.ok) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      say('export-status', '');
      return showProblem(exportError, describeProblem(res.status, body, res.headers));
    }
    const blob = await res.blob();
    const date = new Date().toISOString().slice(0, 10);
    const name = fileName(res.headers, `fleece-export-${date}.${format === 'zip' ? 'zip' : 'ndjson'}`);
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say('export-status', `Downloaded ${name} (${Math.max(1, Math.round(blob.size / 1024))} KB).`);
  }
  document.getElementById('export-ndjson').addEventListener('click', () => download('ndjson'));
  document.getElementById('export-zip').addEventListener('click', () => download('zip'));

  function hint() {
    const email = ctx.me?.user.email ?? 'your email address';
    const grace =
      graceDays === null ? '' : ` You then have ${graceDays} day${graceDays === 1 ? '' : 's'} to cancel.`;
    say('delete-hint', `Type ${email} exactly.${grace}`);
  }

  function render(state) {
    if (!state) return;
    graceDays = state.graceDays;
    const isPending = state.status === 'pending_deletion';
    pending.hidden = !isPending;
    deleteForm.hidden = isPending;
    const banner = document.getElementById('deletion-banner');
    if (isPending) {
      const text = `Your account is scheduled for deletion on ${when(state.purgeAfter)}. Until then you can cancel it, and everything is kept.`;
      say('deletion-pending-text', text);
      cancel.hidden = !state.cancellable;
      banner.replaceChildren(text, ' ', h('a', { href: '#data' }, 'Cancel the deletion'));
      banner.hidden = false;
    } else {
      banner.hidden = true;
      hint();
    }
  }

  ctx.onMe(hint);

  confirmInput.addEventListener('input', () => {
    const email = ctx.me?.user.email ?? '';
    submit.disabled = email === '' || confirmInput.value.trim().toLowerCase() !== email.toLowerCase();
  });

  deleteForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    const days = graceDays === null ? 'the grace period' : `${graceDays} day${graceDays === 1 ? '' : 's'}`;
    const ok = await ctx.confirm(
      'Delete your account?',
      `You are signed out everywhere at once. After ${days} your account and data are deleted for good.`,
      'Delete my account',
    );
    if (!ok) return;
    submit.disabled = true;
    const res = await api('POST', '/api/v1/account/deletion');
    if (!res.ok) {
      submit.disabled = false;
      return showProblem(deletionError, res.problem);
    }
    showProblem(deletionError, null);
    confirmInput.value = '';
    ctx.deletionRequested?.();
    // The request signed this browser (and every other credential) out; cancelling needs a new sign-in.
    render(res.body);
    document.getElementById('deletion-banner').hidden = true;
    cancel.hidden = true;
    const text = document.getElementById('deletion-pending-text');
    text.replaceChildren(
      `Deletion requested. Your account and its data will be deleted for good on ${when(res.body.purgeAfter)}. `,
      'You have been signed out everywhere, and your API keys no longer work. Changed your mind? ',
      h(
        'a',
        { href: signInUrl('/settings#data'), id: 'sign-in-to-cancel' },
        'Sign in again to cancel the deletion',
      ),
      ' before then.',
    );
    text.focus();
  });

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    const res = await api('POST', '/api/v1/account/deletion/cancel');
    cancel.disabled = false;
    if (!res.ok) return showProblem(deletionError, res.problem);
    showProblem(deletionError, null);
    ctx.deletionCancelled?.();
  });

  return loadDeletion().then(render);
}
