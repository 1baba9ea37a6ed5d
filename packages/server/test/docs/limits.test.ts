import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  AUTH_LIMITS,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  PLANS,
  ROUTE_LIMITS,
  type RouteLimitName,
  rate,
} from '../../src/limits.js';

/** A document of docs/, with every run of white space (line breaks included) as one space. */
function doc(name: string): string {
  const path = fileURLToPath(new URL(`../../../../docs/${name}`, import.meta.url));
  return readFileSync(path, 'utf8').replace(/\s+/g, ' ');
}

const n = (value: number | null) => (value ?? 0).toLocaleString('en-US');
const { free, pro, business, enterprise } = PLANS;
const r = (name: RouteLimitName) => rate(ROUTE_LIMITS[name]);
const perMinute = (name: RouteLimitName) => `${ROUTE_LIMITS[name].max} per minute per IP`;
const apiLimits = (plan: typeof pro) =>
  `${plan.name} ${n(plan.entitlements.apiBurstPerMinute)}/min and ${n(plan.entitlements.apiPerDay)}/day`;

describe('the limits the docs state are the limits of src/limits.ts', () => {
  it('formats a limit as the docs write it', () => {
    expect(rate({ max: 10, timeWindow: 60_000 })).toBe('10/min');
    expect(rate({ max: 5, timeWindow: 3_600_000 })).toBe('5/hour');
    expect(rate({ max: 500_000, timeWindow: 86_400_000 })).toBe('500,000/day');
    expect(rate({ max: 3, timeWindow: 600_000 })).toBe('3 per 10 minutes');
  });

  it('docs/api.md, "Rate limits": the named limits, the per-plan API limits and the default', () => {
    const api = doc('api.md');
    expect(api).toContain(
      `| chat, agent execute, flow trigger, data export | user (IP when anonymous) | ${r('chat')}, ${r('agentExecute')}, ${r('flowTrigger')}, ${r('dataExport')} |`,
    );
    expect(api).toContain(`${apiLimits(pro)}; ${apiLimits(business)}; ${apiLimits(enterprise)} unless set`);
    expect(api).toContain(
      `\`FLEECE_RATE_LIMIT_PER_MINUTE\`, ${DEFAULT_RATE_LIMIT_PER_MINUTE}/min by default`,
    );
  });

  it('docs/security.md: claims C9 and C17, the rate limits and the sign-in limits', () => {
    const security = doc('security.md');
    const named = `chat ${r('chat')}, agent execute ${r('agentExecute')}, flow trigger ${r('flowTrigger')}, data export ${r('dataExport')}`;
    expect(security).toContain(`| C17 | Every API endpoint is rate-limited, per user or per IP: ${named}.`);
    expect(security).toContain(`- **Named route limits**, per user (per IP when anonymous): ${named},`);
    expect(security).toContain(
      `| C9 | API keys per plan: Free ${free.entitlements.apiKeys}, Pro ${pro.entitlements.apiKeys}, Business ${business.entitlements.apiKeys}, Enterprise ${enterprise.entitlements.apiKeys}. |`,
    );
    expect(security).toContain(
      `${apiLimits(pro)}, ${apiLimits(business)}, ${apiLimits(enterprise)} unless overridden`,
    );
    const { magicLinkPerEmail, userCodeFailuresPerIp } = AUTH_LIMITS;
    expect(security).toContain(
      `Magic links: ${perMinute('magicLinkPerIp')} and ${magicLinkPerEmail.max} per ${magicLinkPerEmail.timeWindow / 60_000} minutes per address; user-code entry ${perMinute('userCodePerIp')} plus the lock-out; token, device and revocation endpoints ${perMinute('tokenPerIp')}; starting a sign-in ${perMinute('startPerIp')}.`,
    );
    expect(security).toContain(
      `an address that enters ${userCodeFailuresPerIp.max} wrong codes is locked out of code entry for ${userCodeFailuresPerIp.timeWindow / 60_000} minutes`,
    );
  });

  it('docs/operations.md: every name FLEECE_ROUTE_LIMITS takes, with its documented rate, and the default limit', () => {
    const operations = doc('operations.md');
    const names = (Object.keys(ROUTE_LIMITS) as RouteLimitName[]).map((name) => `\`${name}\` (${r(name)})`);
    expect(operations).toContain(`with names ${names.slice(0, -1).join(', ')}, ${names.at(-1)}, e.g.`);
    expect(operations).toContain(
      `| \`FLEECE_RATE_LIMIT_PER_MINUTE\` | \`${DEFAULT_RATE_LIMIT_PER_MINUTE}\` | default limit`,
    );
    const { entitlements } = enterprise;
    expect(operations).toContain(
      `(Enterprise: ${n(entitlements.apiBurstPerMinute)} a minute, ${n(entitlements.apiPerDay)} a day, ${n(entitlements.executionsPerMonth)} executions a month)`,
    );
    // Every name documented there is one the server accepts.
    expect(
      loadConfig({
        FLEECE_ROUTE_LIMITS: Object.keys(ROUTE_LIMITS)
          .map((k) => `${k}=7`)
          .join(','),
      }).routeLimits,
    ).toEqual(Object.fromEntries(Object.keys(ROUTE_LIMITS).map((k) => [k, 7])));
  });
});
