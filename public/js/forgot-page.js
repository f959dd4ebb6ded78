// forgot.html: POST /api/password-reset {uid} -> 202, the same sentence for every uid
// (whether the account exists is never told), 429 when asked too often, 501 when the
// service sends no email. The page shows the service's own message in every case.

import { pythonURI, requestOptions } from '../config.js';
import { send, messageOf } from './api.js';

const form = document.getElementById('forgot-form');
const uid = document.getElementById('uid');
const message = document.getElementById('message');
const submit = document.getElementById('submit');

// index.html links here as forgot.html?uid=<what was typed in the login form>.
const suggested = new URLSearchParams(location.search).get('uid');
if (suggested) {
    uid.value = suggested;
}

form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    submit.disabled = true;
    const result = await send(`${pythonURI}/api/password-reset`, requestOptions('POST', { uid: uid.value }, 'no-cache'));
    submit.disabled = false;
    message.classList.toggle('ok', result.status === 202);
    message.textContent = messageOf(result);
});

submit.disabled = false;
