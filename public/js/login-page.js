// index.html: the lesson's login form (steps 1-14 of its sequence diagram), and the second factor:
// when the account has two-factor authentication on, the service answers the right password with
// 401 {"data": {"mfa_required": true}} and no cookie; the page then asks for the code and sends
// the same login again with it (docs/SECOND_FACTORS.md).

import { login, pythonURI } from '../config.js';
import { SIGNED_OUT, messageOf, sayIn } from './api.js';

const form = document.getElementById('login-form');
const uid = document.getElementById('uid');
const password = document.getElementById('password');
const codeField = document.getElementById('code-field');
const code = document.getElementById('code');
const remember = document.getElementById('remember');
const submit = document.getElementById('submit');
const say = sayIn(document.getElementById('message'));

// signup.html links here as index.html?uid=<new uid>.
const suggested = new URLSearchParams(location.search).get('uid');
if (suggested) {
    uid.value = suggested;
    password.focus();
}

// The Log out button comes here after a successful logout: say so, once (a reload says nothing).
if (sessionStorage.getItem(SIGNED_OUT)) {
    sessionStorage.removeItem(SIGNED_OUT);
    say('Signed out', 'info');  // news, not an error
}

function askForCode(ask) {
    codeField.hidden = !ask;
    code.required = ask;
    if (!ask) {
        code.value = '';
    }
}

// Another account: its password has not been checked, so no code is asked for yet.
uid.addEventListener('input', () => askForCode(false));

form.addEventListener('submit', async (event) => {
    event.preventDefault();  // the lesson's "return false": fetch() does the talking, not the form
    submit.disabled = true;
    say('');  // login() shows the next answer; an error is red again
    try {
        // Step 1: the user's credentials; login() does steps 2-14.
        const body = { uid: uid.value, password: password.value, remember: remember.checked };
        const sentCode = !codeField.hidden && code.value.trim() !== '';
        if (sentCode) {
            body.code = code.value.trim();
        }
        const result = await login({
            URL: `${pythonURI}/api/authenticate`,
            callback: () => location.assign('dashboard.html'),  // step 11: on to the dashboard
            message: 'message',
            method: 'POST',
            cache: 'no-cache',
            body,
        });
        if (result.ok || result.status === 0) {
            return;
        }
        if (result.status === 401 && result.body?.data?.mfa_required) {
            askForCode(true);  // the password was right: keep it, and ask for the code
            say(messageOf(result), 'info');  // "Enter the 6-digit code ...": the next step, not an error
            code.focus();
        } else if (result.status === 401 && sentCode) {
            code.value = '';  // a wrong or used code (the server's message says so); the password stays
            code.focus();
        } else {
            password.value = '';
            password.focus();
        }
    } finally {
        submit.disabled = false;
    }
});

submit.disabled = false;
