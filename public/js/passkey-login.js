// index.html: "Sign in with a passkey" (API.md, Passkeys). No uid is typed: the service asks for
// any passkey of this site (discoverable credentials), the browser lets the user pick one, and
// the signed answer is the login.
//   POST /api/authenticate/passkey/options   {}  -> the challenge and the options
//   navigator.credentials.get()                  -> the authenticator signs the challenge
//   POST /api/authenticate/passkey           {credential} -> 200 and the session cookie, as a password login
// Then on to the dashboard, as the password login does. Failures show the server's message.

import { pythonURI, requestOptions as fetchInit } from '../config.js';
import { send, messageOf } from './api.js';
import { supported, askForAssertion } from './webauthn-json.js';

const button = document.getElementById('passkey-login');
const box = document.getElementById('passkey-box');
const message = document.getElementById('message');

async function signIn() {
    message.classList.remove('ok', 'info');
    message.textContent = '';
    const { credential, error } = await askForAssertion(`${pythonURI}/api/authenticate/passkey/options`);
    if (error !== undefined) {
        message.textContent = error;  // 429: too many sign-ins started from here; or what the browser said
        return;
    }
    const remember = document.getElementById('remember')?.checked === true;  // the login form's "Remember me"
    const result = await send(`${pythonURI}/api/authenticate/passkey`,
        fetchInit('POST', { credential, remember }, 'no-cache'));
    if (result.ok) {
        location.assign('dashboard.html');  // the cookie is set by the browser, as after a password login
        return;
    }
    message.textContent = messageOf(result);
}

if (supported && button) {
    button.addEventListener('click', async () => {
        button.disabled = true;
        try {
            await signIn();
        } finally {
            button.disabled = false;
        }
    });
    box.hidden = false;
}
