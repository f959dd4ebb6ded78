// The dashboard's "Linked sign-ins" panel: the GitHub or OpenID Connect accounts that can sign
// in to this account (GET /api/user/identities), a Remove button for each
// (DELETE /api/user/identities/<id>; 409 when it is the only way left to sign in), and a
// "Link" button for each configured provider: signed in, the same start link links instead.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, timeElement } from './api.js';
import { startURL } from './oauth-buttons.js';
import { needsReauth, confirmIdentity } from './confirm-identity.js';

const panel = document.getElementById('identities-panel');
const list = document.getElementById('identities');
const empty = document.getElementById('identities-empty');
const links = document.getElementById('identities-link');
const message = document.getElementById('identities-message');

const when = (value) => timeElement(value, true);

async function remove(identity, button) {
    button.disabled = true;
    message.classList.remove('ok');
    const result = await send(`${pythonURI}/api/user/identities/${encodeURIComponent(identity.id)}`,
        requestOptions('DELETE'));
    if (result.status === 204) {
        message.classList.add('ok');
        message.textContent = `${identity.login} is no longer linked.`;
        await load();
        return;
    }
    button.disabled = false;
    message.textContent = messageOf(result);  // 409: "... the only way left to sign in ..."
}

function render(identities, names) {
    list.replaceChildren();
    for (const identity of identities) {
        const item = document.createElement('li');
        item.className = 'identity';
        item.dataset.provider = identity.provider;
        const label = document.createElement('span');
        label.className = 'identity-label';
        label.textContent = `${names[identity.provider] || identity.provider}: ${identity.login}`;
        const since = document.createElement('span');
        since.className = 'identity-since';
        since.append('linked ', when(identity.created_at));
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'danger';
        button.textContent = 'Remove';
        button.setAttribute('aria-label', `Remove ${label.textContent}`);
        button.addEventListener('click', () => remove(identity, button));
        item.append(label, since, button);
        list.append(item);
    }
    empty.hidden = identities.length > 0;
}

// Linking needs a fresh sign-in: the start answers 403 reauth_required (JSON, not a page) when it is
// not. So the link first asks the start without following its redirect; after "Confirm it is you"
// (or when it was fresh already) the browser goes to the provider as a plain link would.
async function linkWithFreshSignIn(event, link) {
    event.preventDefault();
    message.classList.remove('ok');
    const probe = await send(link.href, { ...fetchOptions, redirect: 'manual', cache: 'no-store' });
    if (needsReauth(probe)) {
        if (!(await confirmIdentity())) {
            message.textContent = messageOf(probe);
            return;
        }
    } else if (probe.status >= 400) {
        message.textContent = messageOf(probe);  // 429: too many sign-ins started from here
        return;
    }
    location.assign(link.href);
}

async function load() {
    const [providers, identities] = await Promise.all([
        send(`${pythonURI}/api/oauth/providers`, fetchOptions),
        send(`${pythonURI}/api/user/identities`, fetchOptions),
    ]);
    if (!identities.ok) {
        if (identities.status !== 401) {  // 401: dashboard-page.js takes the browser to the login page
            message.textContent = messageOf(identities);
            panel.hidden = false;
        }
        return;
    }
    const configured = providers.ok && Array.isArray(providers.body?.data) ? providers.body.data : [];
    const names = Object.fromEntries(configured.map((p) => [p.id, p.name]));
    render(identities.body.data, names);
    links.replaceChildren();
    for (const provider of configured) {
        const link = document.createElement('a');
        link.className = 'button-link secondary';
        link.id = `link-${provider.id}`;
        link.href = startURL(provider.id, '/dashboard.html');
        link.textContent = `Link ${provider.name}`;
        link.addEventListener('click', (event) => linkWithFreshSignIn(event, link));
        links.append(link);
    }
    panel.hidden = configured.length === 0 && identities.body.data.length === 0;
}

load();
