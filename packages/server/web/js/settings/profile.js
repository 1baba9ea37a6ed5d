import { api, h, say, showProblem, when } from '../common.js';

const STATUS = {
  active: ['Active', 'ok'],
  suspended: ['Suspended', 'bad'],
  pending_deletion: ['Scheduled for deletion', 'warn'],
};

/**
 * Profile: who you are, as `GET /api/v1/me` says, and your display name, changed with
 * `PATCH /api/v1/me {name}` (an empty field removes it).
 */
export function initProfile(ctx) {
  const form = document.getElementById('profile-form');
  const input = document.getElementById('profile-name');
  const save = document.getElementById('profile-save');
  const error = document.getElementById('profile-error');
  /** Whether the person has typed since the name was last loaded (a refresh must not undo their edit). */
  let edited = false;

  ctx.onMe((me) => {
    const u = me.user;
    say('p-email', `${u.email}${u.emailVerified ? '' : ' (not verified)'}`);
    say('p-id', u.id);
    document
      .getElementById('p-role')
      .replaceChildren(
        u.role === 'admin' ? h('span', { class: 'badge info' }, 'Administrator') : h('span', {}, 'User'),
      );
    const [label, tone] = STATUS[u.status] ?? [u.status, ''];
    document.getElementById('p-status').replaceChildren(h('span', { class: `badge ${tone}` }, label));
    say('p-created', when(u.createdAt));
    if (!edited) input.value = u.name ?? '';
  });

  input.addEventListener('input', () => {
    edited = true;
    say('profile-status', '');
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    save.disabled = true;
    const res = await api('PATCH', '/api/v1/me', { name: name === '' ? null : name });
    save.disabled = false;
    if (!res.ok) return showProblem(error, res.problem);
    showProblem(error, null);
    edited = false;
    input.value = res.body.name ?? '';
    say(
      'profile-status',
      res.body.name ? `Saved. Your name is now ${res.body.name}.` : 'Saved. Your name is removed.',
    );
    await ctx.refreshMe();
  });
}
