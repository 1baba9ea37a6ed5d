import { api, h, say, showProblem, when } from '../common.js';

const CONSENTS = {
  ai_processing: {
    label: 'AI processing',
    text: 'Send your prompts and conversations to the AI providers this server uses, for real-time answers only (never to train models). Agents, chat and flows need it.',
  },
  product_email: {
    label: 'Product email',
    text: 'News about Fleece by email. Account and security mail is sent regardless.',
  },
  terms: { label: 'Terms of service', text: 'The terms under which you use this Fleece server.' },
};

/** Consents: each type as a checkbox; a change grants or revokes it (`PUT /api/v1/account/consents/:type`). */
export function initConsents() {
  const list = document.getElementById('consent-list');
  const error = document.getElementById('consents-error');

  function item(consent) {
    const info = CONSENTS[consent.type] ?? { label: consent.type, text: '' };
    const id = `consent-${consent.type}`;
    let note;
    if (consent.granted) note = `Granted ${when(consent.updatedAt)} (policy ${consent.policyVersion}).`;
    else if (consent.policyVersion && consent.policyVersion !== consent.currentPolicyVersion)
      note = `The policy changed to version ${consent.currentPolicyVersion} since you last decided; grant it again to agree to it.`;
    else if (consent.updatedAt) note = `Not granted (you decided ${when(consent.updatedAt)}).`;
    else note = 'Not granted.';
    const box = h('input', {
      type: 'checkbox',
      id,
      checked: consent.granted,
      'aria-describedby': `${id}-text ${id}-note`,
    });
    box.addEventListener('change', async () => {
      box.disabled = true;
      const res = await api('PUT', `/api/v1/account/consents/${encodeURIComponent(consent.type)}`, {
        granted: box.checked,
      });
      box.disabled = false;
      if (!res.ok) {
        box.checked = !box.checked;
        return showProblem(error, res.problem);
      }
      showProblem(error, null);
      say('consents-status', `${info.label}: ${res.body.granted ? 'granted' : 'revoked'}.`);
      list.querySelector(`[data-consent="${consent.type}"]`)?.replaceWith(item(res.body));
      document.getElementById(id)?.focus();
    });
    return h(
      'li',
      { 'data-consent': consent.type },
      h('div', { class: 'check' }, box, h('label', { for: id }, info.label)),
      h('p', { id: `${id}-text`, class: 'hint' }, info.text),
      h('p', { id: `${id}-note`, class: 'hint' }, note),
    );
  }

  api('GET', '/api/v1/account/consents').then((res) => {
    if (res.status === 404 && !res.body?.code) {
      return showProblem(error, { message: 'This server does not record consents yet.' });
    }
    if (!res.ok) return showProblem(error, res.problem);
    list.replaceChildren(...res.body.data.map(item));
  });
}
