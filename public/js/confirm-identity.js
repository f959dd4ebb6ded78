// "Confirm it is you" (API.md, Fresh sign-in for sensitive changes): adding a passkey, linking an
// identity, turning TOTP on or off and changing the password need a sign-in within the last few
// minutes. When an action is answered 403 with data.reauth_required, the dashboard opens this
// dialog, the user proves who they are again, and the action is tried once more.
//   POST /api/reauth                    {password} | {code} | {credential}: 200, the session is fresh
//   POST /api/reauth/passkey/options    {}: the challenge and this account's passkeys
// A wrong password is 403 and counts as a failed login (429 after too many).

import { pythonURI, requestOptions as fetchInit } from '../config.js';
import { send, messageOf } from './api.js';
import { supported, askForAssertion } from './webauthn-json.js';

const dialog = document.getElementById('reauth-dialog');
const form = document.getElementById('reauth-form');
const password = document.getElementById('reauth-password');
const codeField = document.getElementById('reauth-code-field');
const code = document.getElementById('reauth-code');
const useCode = document.getElementById('reauth-use-code');
const passkeyButton = document.getElementById('reauth-passkey');
const cancel = document.getElementById('reauth-cancel');
const message = document.getElementById('reauth-message');

// True when an answer says the action needs a fresh sign-in.
export function needsReauth(result) {
    return result.status === 403 && !!result.body?.data?.reauth_required;
}

let settle = null;  // resolves the open dialog's promise: true once confirmed, false when cancelled

function close(confirmed) {
    if (dialog.open) {
        dialog.close();
    }
    form.reset();
    message.textContent = '';
    if (settle) {
        const done = settle;
        settle = null;
        done(confirmed);
    }
}

async function proved(body) {
    const result = await send(`${pythonURI}/api/reauth`, fetchInit('POST', body, 'no-cache'));
    if (result.ok) {
        close(true);
        return;
    }
    message.textContent = messageOf(result);  // 403 wrong password or code; 429 too many tries
}

async function withPasskey() {
    message.textContent = '';
    const { credential, error } = await askForAssertion(`${pythonURI}/api/reauth/passkey/options`);
    if (error !== undefined) {
        message.textContent = error;  // 400: no passkey on this account; or what the browser said
        return;
    }
    await proved({ credential });
}

// Ask "Confirm it is you"; resolves true when the session is fresh again, false when cancelled.
export function confirmIdentity() {
    if (!dialog) {
        return Promise.resolve(false);
    }
    if (settle) {
        return new Promise((resolve) => {
            const previous = settle;
            settle = (confirmed) => { previous(confirmed); resolve(confirmed); };
        });
    }
    return new Promise((resolve) => {
        settle = resolve;
        codeField.hidden = true;
        password.required = true;
        dialog.showModal();
        password.focus();
    });
}

// send(), and when the answer asks for a fresh sign-in: the dialog, then the same request once more.
export async function sendConfirmed(url, init) {
    const result = await send(url, init);
    if (!needsReauth(result) || !(await confirmIdentity())) {
        return result;
    }
    return send(url, init);
}

if (dialog) {
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const body = codeField.hidden ? { password: password.value } : { code: code.value };
        await proved(body);
    });
    useCode.addEventListener('click', () => {
        codeField.hidden = false;
        password.required = false;
        code.focus();
    });
    cancel.addEventListener('click', () => close(false));
    dialog.addEventListener('cancel', () => close(false));  // Escape
    if (supported) {
        passkeyButton.hidden = false;
        passkeyButton.addEventListener('click', withPasskey);
    }
}
