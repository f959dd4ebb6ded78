// index.html: the lesson's login form (steps 1-14 of its sequence diagram).

import { login, pythonURI } from '../config.js';
import { SIGNED_OUT } from './api.js';

const form = document.getElementById('login-form');
const uid = document.getElementById('uid');
const password = document.getElementById('password');
const submit = document.getElementById('submit');

// signup.html links here as index.html?uid=<new uid>.
const suggested = new URLSearchParams(location.search).get('uid');
if (suggested) {
    uid.value = suggested;
    password.focus();
}

// The Log out button comes here after a successful logout: say so, once (a reload says nothing).
if (sessionStorage.getItem(SIGNED_OUT)) {
    sessionStorage.removeItem(SIGNED_OUT);
    document.getElementById('message').textContent = 'Signed out';
}

form.addEventListener('submit', async (event) => {
    event.preventDefault();  // the lesson's "return false": fetch() does the talking, not the form
    submit.disabled = true;
    try {
        // Step 1: the user's credentials; login() does steps 2-14.
        const result = await login({
            URL: `${pythonURI}/api/authenticate`,
            callback: () => location.assign('dashboard.html'),  // step 11: on to the dashboard
            message: 'message',
            method: 'POST',
            cache: 'no-cache',
            body: { uid: uid.value, password: password.value },
        });
        if (!result.ok && result.status !== 0) {
            password.value = '';
            password.focus();
        }
    } finally {
        submit.disabled = false;
    }
});

submit.disabled = false;
