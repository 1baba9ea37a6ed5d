import { api, h, say, showProblem, timeEl, when } from '../common.js';

const PLANS = [
  { id: 'pro', name: 'Pro', summary: '5 API keys, more agents and executions, premium models.' },
  { id: 'business', name: 'Business', summary: '10 API keys, higher limits, longer history.' },
];
const RANK = { free: 0, pro: 1, business: 2, enterprise: 3 };

function meterItem(label, used, limit, extra) {
  const text = limit === null || limit === undefined ? `${used} (no fixed limit)` : `${used} of ${limit}`;
  return h(
    'li',
    {},
    h('span', { class: 'usage-label' }, label),
    limit ? h('meter', { min: 0, max: limit, value: Math.min(used, limit), 'aria-label': label }) : null,
    h(
      'span',
      { class: 'usage-text' },
      text,
      extra ? ` ${extra}` : '',
      limit !== null && limit !== undefined && used >= limit
        ? ' — limit reached; a higher plan raises it.'
        : '',
    ),
  );
}

/**
 * Plan & billing: the plan, usage against its limits (from `GET /api/v1/me`), an upgrade through Stripe
 * Checkout (`POST /api/v1/billing/checkout` answers the URL to go to), and, on request, the subscription
 * (`GET /api/v1/billing`) with the Stripe customer portal. On a server without billing (503
 * `billing_not_configured`) no upgrade is offered: the section says the administrator sets plans.
 */
export function initBilling(ctx) {
  const error = document.getElementById('billing-error');
  const plans = document.getElementById('plans');

  ctx.onMe((me) => {
    document.getElementById('plan-name').replaceChildren(h('span', { class: 'badge info' }, me.plan.name));
    const u = me.usage;
    const e = me.entitlements;
    const items = [meterItem('Active sessions', u.activeSessions, null)];
    if (u.apiKeys) items.push(meterItem('API keys', u.apiKeys.used, u.apiKeys.limit));
    else items.push(meterItem('API keys', 0, e.apiKeys));
    if (u.agents) items.push(meterItem('Agents', u.agents.used, u.agents.limit));
    if (u.executions) {
      items.push(
        meterItem(
          'Executions this month',
          u.executions.used,
          u.executions.limit,
          `(resets ${when(u.executions.resetsAt)})`,
        ),
      );
    }
    if (u.apiRequests) {
      items.push(
        meterItem('API requests this minute', u.apiRequests.minute.used, u.apiRequests.minute.limit),
      );
      items.push(meterItem('API requests today', u.apiRequests.day.used, u.apiRequests.day.limit));
    }
    items.push(
      h(
        'li',
        {},
        h('span', { class: 'usage-label' }, 'History kept'),
        h('span', { class: 'usage-text' }, `${e.historyRetentionDays} days`),
      ),
      h(
        'li',
        {},
        h('span', { class: 'usage-label' }, 'Premium models'),
        h('span', { class: 'usage-text' }, e.premiumModels ? 'Included' : 'Not included'),
      ),
    );
    document.getElementById('usage').replaceChildren(...items);
  });

  async function checkout(plan, button) {
    button.disabled = true;
    say('billing-status', 'Opening Stripe Checkout…');
    const res = await api('POST', '/api/v1/billing/checkout', { plan });
    button.disabled = false;
    if (!res.ok) {
      say('billing-status', '');
      return showProblem(error, res.problem);
    }
    location.assign(res.body.url);
  }

  async function portal(button) {
    button.disabled = true;
    const res = await api('POST', '/api/v1/billing/portal', {});
    button.disabled = false;
    if (!res.ok) return showProblem(error, res.problem);
    location.assign(res.body.url);
  }

  function offers(me) {
    const current = RANK[me.plan.id] ?? 0;
    const higher = PLANS.filter((p) => RANK[p.id] > current);
    if (higher.length === 0) return [h('p', {}, `${me.plan.name} is the highest plan sold here.`)];
    return higher.map((plan) =>
      h(
        'div',
        { class: 'plan' },
        h('h4', {}, plan.name),
        h('p', {}, plan.summary),
        h(
          'button',
          { type: 'button', onclick: (ev) => checkout(plan.id, ev.currentTarget) },
          `Upgrade to ${plan.name}`,
        ),
      ),
    );
  }
  ctx.onMe((me) => plans.replaceChildren(...offers(me)));

  // Plans are sold here only when billing is set up: without it `GET /api/v1/billing` answers 503
  // `billing_not_configured`, and the page says who sets plans instead of offering upgrades that must fail.
  // The section's `data-billing` says what was found: `on`, `off` or `unknown` (the server could not say).
  const section = document.getElementById('billing');
  api('GET', '/api/v1/billing').then((res) => {
    const off = res.problem?.code === 'billing_not_configured';
    document.getElementById('billing-off').hidden = !off;
    document.getElementById('billing-controls').hidden = !res.ok;
    if (!res.ok && !off) showProblem(error, res.problem);
    section.dataset.billing = res.ok ? 'on' : off ? 'off' : 'unknown';
  });

  // The subscription is asked for on demand: on a server without billing every billing route answers 503.
  const details = document.getElementById('billing-details');
  document.getElementById('billing-load').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    const res = await api('GET', '/api/v1/billing');
    button.disabled = false;
    if (!res.ok) return showProblem(error, res.problem);
    showProblem(error, null);
    const status = res.body;
    const children = [];
    for (const notice of status.notices ?? [])
      children.push(h('p', { class: 'banner', role: 'note' }, notice.message));
    const sub = status.subscription;
    if (sub) {
      children.push(
        h(
          'p',
          {},
          `Subscription: ${sub.status}`,
          sub.currentPeriodEnd
            ? [sub.cancelAtPeriodEnd ? ', ends ' : ', renews ', timeEl(sub.currentPeriodEnd)]
            : '',
          '.',
        ),
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: (ev) => portal(ev.currentTarget) },
          'Manage billing, payment method and invoices (Stripe)',
        ),
      );
    } else children.push(h('p', {}, 'You have no subscription.'));
    details.replaceChildren(...children);
    details.hidden = false;
  });
}
