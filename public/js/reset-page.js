// reset.html#token=...: the link of a reset email or of an Admin.
// The token is taken from the fragment (never sent to any server by the browser) and the
// fragment is then cleared, so it does not stay in the address bar, a bookmark or the history.
// POST /api/password-reset/confirm {token, password} -> 200: the password is changed and every
// session of the account ended; it does not sign in, so the next step is the login page.

import { pythonURI, requestOptions } from '../config.js';
import { sendRetrying, messageOf, sayIn } from './api.js';

const form = document.getElementById('reset-form');
const password = document.getElementById('password');
const message = document.getElementById('message');
const submit = document.getElementById('submit');
const next = document.getElementById('next');
const again = document.getElementById('again');

const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (location.hash) {
    history.replaceState(null, '', location.pathname + location.search);
}

const say = sayIn(message);

form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say('');
    password.removeAttribute('aria-invalid');
    submit.disabled = true;
    const body = { token, password: password.value };
    // A busy service is asked again by itself (api.js: sendRetrying); the button stays disabled meanwhile.
    const result = await sendRetrying(`${pythonURI}/api/password-reset/confirm`, requestOptions('POST', body, 'no-cache'),
        (text) => say(text));
    if (result.ok) {
        form.reset();
        password.disabled = true;  // the link is used up
        say(messageOf(result), true);
        next.hidden = false;
        document.getElementById('to-login').focus();
        return;
    }
    submit.disabled = false;
    say(messageOf(result));
    if (result.status === 400 && messageOf(result).startsWith('password')) {
        password.setAttribute('aria-invalid', 'true');  // a weak password: try another with the same link
        password.focus();
    } else if (result.status === 400) {
        again.hidden = false;  // a bad, used, superseded or expired link
    }
});

if (token) {
    submit.disabled = false;
    password.focus();
} else {
    say('This reset link is incomplete. Open the whole link from the email, or ask for a new one.');
    again.hidden = false;
}
