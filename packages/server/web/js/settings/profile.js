import { say, when } from '../common.js';

const STATUS = {
  active: 'Active',
  suspended: 'Suspended',
  pending_deletion: 'Scheduled for deletion',
};

/** Profile: who you are, as `GET /api/v1/me` says. */
export function initProfile(ctx) {
  ctx.onMe((me) => {
    const u = me.user;
    say('p-email', `${u.email}${u.emailVerified ? '' : ' (not verified)'}`);
    say('p-name', u.name ?? '—');
    say('p-id', u.id);
    say('p-role', u.role === 'admin' ? 'Administrator' : 'User');
    say('p-status', STATUS[u.status] ?? u.status);
    say('p-created', when(u.createdAt));
  });
}
