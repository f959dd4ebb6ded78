// dashboard.html, "Profile" and "Change password": the signed-in user changes their own account.
//   GET  /api/id                          the name, the email and whether it is verified
//   PUT  /api/user {name, email}          a new address is unverified until the link mailed to it is opened
//   POST /api/user/email/verification     the link again (at most 3 an hour)
//   PUT  /api/user {password, current_password}   every other session ends; this one gets a fresh cookie
// Every failure shows the server's own message.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, sayIn } from './api.js';
import { sendConfirmed } from './confirm-identity.js';

const panel = document.getElementById('profile-panel');
const profileForm = document.getElementById('profile-form');
const nameInput = document.getElementById('profile-name');
const emailInput = document.getElementById('profile-email');
const emailState = document.getElementById('email-state');
const profileSave = document.getElementById('profile-save');
const resendButton = document.getElementById('resend-verification');
const sayProfile = sayIn(document.getElementById('profile-message'));

const passwordForm = document.getElementById('password-form');
const currentPassword = document.getElementById('password-current');
const newPassword = document.getElementById('password-new');
const passwordSave = document.getElementById('password-save');
const sayPassword = sayIn(document.getElementById('password-message'));

let user = null;

// A new email address needs a fresh sign-in: sendConfirmed() asks "Confirm it is you" and sends it again.

function showUser(data) {
    user = data;
    nameInput.value = data.name;
    emailInput.value = data.email ?? '';
    if (!data.email) {
        emailState.textContent = 'No email address: password reset by email and notices need one.';
    } else if (data.email_verified) {
        emailState.textContent = 'Verified.';
    } else {
        emailState.textContent = 'Not verified yet: open the link we sent to this address. ' +
            'Until then no reset link or notice goes to it.';
    }
    emailState.dataset.verified = String(Boolean(data.email && data.email_verified));
    resendButton.hidden = !data.email || data.email_verified;
    // The "Signed in as" facts above show the same account.
    document.getElementById('user-name').textContent = data.name;
    document.getElementById('user-email').textContent = data.email ?? '—';
}

async function load() {
    // GET /api/id answers the user itself, not {message, data}: no loadPanel here.
    const result = await send(`${pythonURI}/api/id`, fetchOptions);
    if (leaveIfSignedOut(result)) {
        return;
    }
    panel.removeAttribute('aria-busy');
    if (!result.ok) {
        sayProfile(messageOf(result));
        return;
    }
    showUser(result.body);
    profileSave.disabled = false;
    passwordSave.disabled = false;
}

profileForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    sayProfile('');
    emailInput.removeAttribute('aria-invalid');
    const body = {};
    if (nameInput.value.trim() !== user.name) {
        body.name = nameInput.value;
    }
    const email = emailInput.value.trim();
    if (email !== (user.email ?? '')) {
        body.email = email === '' ? null : email;
    }
    if (Object.keys(body).length === 0) {
        sayProfile('Nothing to save.', true);
        return;
    }
    profileSave.disabled = true;
    const result = await sendConfirmed(`${pythonURI}/api/user`, requestOptions('PUT', body));
    profileSave.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (!result.ok) {
        if (result.status === 400 && messageOf(result).startsWith('email')) {
            emailInput.setAttribute('aria-invalid', 'true');
            emailInput.focus();
        }
        sayProfile(messageOf(result));
        return;
    }
    const emailChanged = 'email' in body && (result.body.email ?? '') !== '' && !result.body.email_verified;
    showUser(result.body);
    sayProfile(emailChanged ? `Saved. We sent a link to ${result.body.email}: open it to verify the address.`
        : 'Saved.', true);
});

resendButton.addEventListener('click', async () => {
    sayProfile('');
    resendButton.disabled = true;
    const result = await send(`${pythonURI}/api/user/email/verification`, requestOptions('POST'));
    resendButton.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    sayProfile(messageOf(result), result.ok);
});

passwordForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    sayPassword('');
    newPassword.removeAttribute('aria-invalid');
    currentPassword.removeAttribute('aria-invalid');
    passwordSave.disabled = true;
    const body = { password: newPassword.value, current_password: currentPassword.value };
    const result = await send(`${pythonURI}/api/user`, requestOptions('PUT', body));
    passwordSave.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.ok) {
        passwordForm.reset();
        sayPassword('Your password is changed; every other browser of your account is signed out.', true);
        return;
    }
    const text = messageOf(result);
    if (text.startsWith('current_password')) {
        currentPassword.setAttribute('aria-invalid', 'true');
        currentPassword.focus();
    } else if (result.status === 400 && text.startsWith('password')) {
        newPassword.setAttribute('aria-invalid', 'true');
        newPassword.focus();
    }
    sayPassword(messageOf(result));
});

// "This wasn't me" in the security activity opens the password change: dashboard.html#change-password
// (or #password-panel) scrolls to it and puts the cursor in its first field.
if (location.hash === '#change-password' || location.hash === '#password-panel') {
    document.getElementById('password-panel').scrollIntoView();
    currentPassword.focus();
}

load();
