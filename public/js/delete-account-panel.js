// dashboard.html, "Delete account": a copy of your data, then deleting the account.
//   GET    /api/user/export   a JSON download of everything held about you (no password or secret)
//   DELETE /api/user          204: the account, its sessions and the cookie are gone; then the login page
// Deleting asks for confirmation: the button works once your GitHub ID is typed.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, sayIn } from './api.js';
import { sendConfirmed } from './confirm-identity.js';

const exportButton = document.getElementById('export-data');
const form = document.getElementById('delete-form');
const confirmInput = document.getElementById('delete-confirm');
const uidLabel = document.getElementById('delete-uid');
const deleteButton = document.getElementById('delete-account');
const say = sayIn(document.getElementById('delete-message'));

let uid = null;

// Both need a fresh sign-in: sendConfirmed() asks "Confirm it is you", then sends the request again.

function confirmed() {
    return uid !== null && confirmInput.value.trim().toLowerCase() === uid.toLowerCase();
}

confirmInput.addEventListener('input', () => {
    deleteButton.disabled = !confirmed();
});

exportButton.addEventListener('click', async () => {
    say('');
    exportButton.disabled = true;
    const result = await sendConfirmed(`${pythonURI}/api/user/export`, fetchOptions);
    exportButton.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (!result.ok) {
        say(messageOf(result));
        return;
    }
    // The answer is already here: hand it to the browser as a file.
    const file = new Blob([JSON.stringify(result.body, null, 2)], { type: 'application/json' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(file);
    link.download = `wsgi_auth-${uid ?? 'account'}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    say('Your data is downloaded.', true);
});

form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say('');
    if (!confirmed()) {
        say('Type your GitHub ID to confirm.');
        confirmInput.focus();
        return;
    }
    deleteButton.disabled = true;
    const result = await sendConfirmed(`${pythonURI}/api/user`, requestOptions('DELETE'));
    if (result.status === 204) {
        location.replace('index.html');  // signed out: the cookie is cleared
        return;
    }
    deleteButton.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    say(messageOf(result));
});

async function load() {
    const result = await send(`${pythonURI}/api/id`, fetchOptions);
    if (result.ok) {
        uid = result.body.uid;
        uidLabel.textContent = uid;
    }
}

load();
