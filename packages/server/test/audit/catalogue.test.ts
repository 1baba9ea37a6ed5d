import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packagePath } from '../../src/lib/package.js';
import { AUDIT_ACTIONS, AUDIT_CATALOGUE, isAuditAction } from '../../src/modules/audit/catalogue.js';

/** The catalogue as docs/security.md ("Event catalogue") lists it, verbatim. */
const DESIGN_CATALOGUE =
  `auth.login.succeeded · auth.login.failed · auth.logout · auth.magic_link.requested · auth.device.authorized ·
auth.device.denied · auth.cli.authorized · session.revoked · session.refresh_reuse_detected · api_key.created ·
api_key.revoked · api_key.expired_rejected · agent.created · agent.updated · agent.deleted · agent.executed ·
execution.cancelled · flow.created · flow.updated · flow.deleted · flow.triggered · chat.conversation.deleted ·
data.exported · audit.accessed · account.updated · account.deletion_requested · account.deletion_cancelled ·
account.deleted · consent.granted · consent.revoked · billing.checkout_started · billing.plan_changed ·
billing.payment_failed · admin.plan_overridden · admin.user_suspended · security.rate_limit_exceeded ·
security.redirect_blocked · security.cross_tenant_denied`
    .split('·')
    .map((s) => s.trim());

describe('audit event catalogue (claim C22)', () => {
  it('holds every event type of the documented catalogue, at least 30, and nothing else', () => {
    expect(AUDIT_ACTIONS.length).toBeGreaterThanOrEqual(30);
    expect([...AUDIT_ACTIONS].sort()).toEqual([...DESIGN_CATALOGUE].sort());
    expect(isAuditAction('api_key.created')).toBe(true);
    expect(isAuditAction('toString')).toBe(false);
  });

  it('covers authentication, data access, billing, consent and administrative actions', () => {
    const areas = new Set(Object.values(AUDIT_CATALOGUE).map((entry) => entry.area));
    for (const area of [
      'authentication',
      'data_access',
      'billing',
      'consent',
      'admin',
      'security',
    ] as const) {
      expect(areas).toContain(area);
    }
  });

  it('is listed, action by action, in docs/security.md', () => {
    const docs = readFileSync(packagePath('..', '..', 'docs', 'security.md'), 'utf8');
    for (const action of AUDIT_ACTIONS) expect(docs).toContain(`| \`${action}\` |`);
  });
});
