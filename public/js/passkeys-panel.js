// The dashboard's "Passkeys" panel (API.md, Passkeys): this account's passkeys, with when each was
// added and last used, a Remove button each, and "Add a passkey" with an optional name.
//   GET    /api/passkeys              the list
//   POST   /api/passkeys/options      the challenge and options for navigator.credentials.create()
//                                     (both need a fresh sign-in: 403 reauth_required asks "Confirm it is you")
//   POST   /api/passkeys              {name?, credential}: the service verifies and stores the new passkey
//   DELETE /api/passkeys/<id>         remove one: it no longer signs in
// Failures show the server's own message (or what the browser's passkey dialog said).

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, sayIn, timeElement, loadPanel } from './api.js';
import { supported, unsupportedReason, creationOptions, registrationJSON, browserMessage } from './webauthn-json.js';
import { needsReauth, confirmIdentity } from './confirm-identity.js';

const panel = document.getElementById('passkeys-panel');
const list = document.getElementById('passkeys');
const empty = document.getElementById('passkeys-empty');
const form = document.getElementById('passkey-add');
const nameInput = document.getElementById('passkey-name');
const addButton = document.getElementById('passkey-add-button');
const unsupported = document.getElementById('passkeys-unsupported');
const message = document.getElementById('passkeys-message');

const say = sayIn(message);

function when(value) {
    return value ? timeElement(value) : 'never';
}

async function remove(passkey, button) {
    button.disabled = true;
    const result = await send(`${pythonURI}/api/passkeys/${encodeURIComponent(passkey.id)}`, requestOptions('DELETE'));
    if (result.status === 204) {
        say(`${passkey.name} removed: it no longer signs in.`, true);
        await load();
        return;
    }
    button.disabled = false;
    say(messageOf(result));
}

function render(passkeys) {
    list.replaceChildren();
    for (const passkey of passkeys) {
        const item = document.createElement('li');
        item.className = 'identity passkey';
        item.dataset.passkeyId = passkey.id;
        const label = document.createElement('span');
        label.className = 'identity-label passkey-name';
        label.textContent = passkey.name;  // textContent: a name is never HTML
        const added = document.createElement('span');
        added.className = 'identity-since passkey-created';
        added.append('added ', when(passkey.created_at));
        const used = document.createElement('span');
        used.className = 'identity-since passkey-used';
        used.append('last used ', when(passkey.last_used_at));
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'danger';
        button.textContent = 'Remove';
        button.setAttribute('aria-label', `Remove ${passkey.name}`);
        button.addEventListener('click', () => remove(passkey, button));
        item.append(label, added, used, button);
        list.append(item);
    }
    empty.hidden = passkeys.length > 0;
}

async function load() {
    const passkeys = await loadPanel(panel, `${pythonURI}/api/passkeys`, fetchOptions, say);
    if (passkeys !== null) {
        render(passkeys);
    }
}

// Adding a passkey needs a fresh sign-in: when either request asks for one, "Confirm it is you"
// (js/confirm-identity.js) and start again with new options.
async function add(again = true) {
    say('');
    const options = await send(`${pythonURI}/api/passkeys/options`, requestOptions('POST'));
    if (needsReauth(options) && again) {
        if (await confirmIdentity()) {
            await add(false);
        } else {
            say(messageOf(options));
        }
        return;
    }
    if (!options.ok) {
        say(messageOf(options));
        return;
    }
    let credential;
    try {
        credential = await navigator.credentials.create({ publicKey: creationOptions(options.body.data) });
    } catch (error) {
        say(browserMessage(error));
        return;
    }
    const body = { credential: registrationJSON(credential) };
    if (nameInput.value.trim()) {
        body.name = nameInput.value;
    }
    const result = await send(`${pythonURI}/api/passkeys`, requestOptions('POST', body));
    if (needsReauth(result) && again && await confirmIdentity()) {
        await add(false);
        return;
    }
    if (result.status === 201) {
        nameInput.value = '';
        say(`${result.body.data.name} added: use it on the login page with "Sign in with a passkey".`, true);
        await load();
        return;
    }
    say(messageOf(result));
}

if (supported) {
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        addButton.disabled = true;
        try {
            await add();
        } finally {
            addButton.disabled = false;
        }
    });
    addButton.disabled = false;
} else {
    form.hidden = true;
    unsupported.textContent = unsupportedReason;
    unsupported.hidden = false;
}
load();
