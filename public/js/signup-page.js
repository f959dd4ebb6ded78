// signup.html: POST /api/user {name, uid, password, email?} -> 201 <user>.
// The lesson's "User Registration" stage; the password is hashed by the service, never here.

import { pythonURI, requestOptions } from '../config.js';
import { sendRetrying, messageOf } from './api.js';

const form = document.getElementById('signup-form');
const message = document.getElementById('message');
const next = document.getElementById('next');
const toLogin = document.getElementById('to-login');
const submit = document.getElementById('submit');
const fields = ['name', 'uid', 'password', 'email'].map((id) => document.getElementById(id));

// A 400 names its field ("uid must be ...", "password must be ..."), a 409 is about the uid:
// mark that input invalid and put the cursor there.
function fieldNamedIn(text) {
    return fields.find((input) => text.startsWith(`${input.id} `)) || null;
}

function clearFieldErrors() {
    for (const input of fields) {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-errormessage');
    }
}

form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors();
    message.textContent = '';
    message.classList.remove('ok');
    next.hidden = true;

    const [name, uid, password, email] = fields;
    const body = { name: name.value, uid: uid.value, password: password.value };
    if (email.value.trim()) {
        body.email = email.value.trim();
    }

    submit.disabled = true;
    // A busy service is asked again by itself (api.js: sendRetrying); the button stays disabled meanwhile.
    const say = (text) => { message.textContent = text; };
    const result = await sendRetrying(`${pythonURI}/api/user`, requestOptions('POST', body, 'no-cache'), say);
    submit.disabled = false;

    if (result.status === 201) {
        const created = (result.body && result.body.uid) || body.uid;
        form.reset();
        message.classList.add('ok');
        message.textContent = `Account ${created} created. You can log in now.` + (body.email
            ? ` If this service sends email, a link to verify ${body.email} is on its way.` : '');
        toLogin.href = `index.html?uid=${encodeURIComponent(created)}`;
        next.hidden = false;
        toLogin.focus();
        return;
    }

    const text = messageOf(result);
    message.textContent = text;
    const input = result.status === 409 ? uid : fieldNamedIn(text);
    if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-errormessage', 'message');
        input.focus();
    }
});

submit.disabled = false;
