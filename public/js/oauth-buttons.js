// "Sign in with GitHub" / "Sign in with <your school>": one link per provider the service
// has configured (GET /api/oauth/providers). Each is a plain link to the service's
// /api/oauth/<id>/start: the browser leaves for the provider's own login page and comes
// back signed in on the dashboard (or on a page that says what went wrong).
// Loaded by index.html and signup.html into <div id="oauth-providers" data-verb="...">.

import { pythonURI, fetchOptions } from '../config.js';
import { send } from './api.js';

const box = document.getElementById('oauth-providers');

export function startURL(provider, next = '/dashboard.html') {
    return `${pythonURI}/api/oauth/${encodeURIComponent(provider)}/start?next=${encodeURIComponent(next)}`;
}

async function showButtons() {
    const result = await send(`${pythonURI}/api/oauth/providers`, fetchOptions);
    const providers = result.ok && result.body && Array.isArray(result.body.data) ? result.body.data : [];
    if (!box || providers.length === 0) {
        return;  // none configured (or the service is unreachable): the password form is all there is
    }
    const list = box.querySelector('.oauth-list');
    for (const provider of providers) {
        const link = document.createElement('a');
        link.className = 'button-link oauth-button';
        link.id = `oauth-${provider.id}`;
        link.href = startURL(provider.id);
        link.textContent = `${box.dataset.verb || 'Sign in'} with ${provider.name}`;  // textContent: never HTML
        list.append(link);
    }
    box.hidden = false;
}

if (box) {
    showButtons();
}
