import { CONSENT_TYPES, type Consent, type ConsentType } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import { table } from '../../lib/format.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';

/** Options of `fleece account consent`. */
export interface ConsentOptions {
  grant?: boolean;
  revoke?: boolean;
  json?: boolean;
}

function line(consent: Consent): readonly [string, string] {
  const state = consent.granted
    ? messages.consentGranted(consent.policyVersion!, consent.updatedAt!)
    : consent.policyVersion === null
      ? messages.consentUndecided
      : consent.policyVersion !== consent.currentPolicyVersion && consent.updatedAt
        ? messages.consentOutdated(consent.policyVersion, consent.currentPolicyVersion)
        : messages.consentRevoked(consent.updatedAt!);
  return [consent.type, state];
}

/**
 * Runs `fleece account consent [type] [--grant|--revoke]`: without a type, lists every consent; with a
 * type alone, shows it; with `--grant` or `--revoke`, changes it (a session is needed: API keys cannot).
 */
export async function run(inv: Invocation, options: ConsentOptions, [type]: string[]): Promise<void> {
  if (options.grant && options.revoke) {
    throw new ValidationError(messages.consentBothFlags, { hint: messages.consentUsageHint });
  }
  const change = options.grant ? true : options.revoke ? false : undefined;
  if (type !== undefined && !CONSENT_TYPES.includes(type as ConsentType)) {
    throw new ValidationError(messages.consentUnknownType(type), { hint: messages.consentUsageHint });
  }
  if (change !== undefined && type === undefined) {
    throw new ValidationError(messages.consentNeedsType, { hint: messages.consentUsageHint });
  }
  const session = await ApiSession.open(inv);
  if (change !== undefined) {
    const consent = await session.call('PUT /api/v1/account/consents/:type', (client) =>
      client.account.consents.set(type as ConsentType, change, { signal: inv.ctx.signal }),
    );
    if (options.json) return inv.out.json(consent);
    inv.out.success(messages.consentChanged(consent.type, consent.granted, consent.currentPolicyVersion));
    return;
  }
  const { data } = await session.call('GET /api/v1/account/consents', (client) =>
    client.account.consents.list({ signal: inv.ctx.signal }),
  );
  const shown = type === undefined ? data : data.filter((c) => c.type === type);
  if (options.json) return inv.out.json(type === undefined ? { data } : shown[0]);
  inv.out.data(table(shown.map(line)));
  const ai = data.find((c) => c.type === 'ai_processing');
  if (ai && !ai.granted && (type === undefined || type === 'ai_processing')) {
    inv.out.info(messages.consentAiHint);
  }
}
