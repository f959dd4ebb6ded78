// admin.html, two more buttons on each row (an Admin never chooses or sees a password):
//   DELETE /api/users/<uid>/sessions         "End sessions": that user is signed out everywhere at once
//   POST   /api/users/<uid>/password-reset   "Reset link": a one-time link, shown here to copy and hand over
// The link is the account's key until it is used or expires: it is shown, never stored by this page.

import { pythonURI, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut } from './api.js';

const linkPanel = document.getElementById('reset-link-panel');
const linkField = document.getElementById('reset-link');
const linkFor = document.getElementById('reset-link-uid');
const linkExpiry = document.getElementById('reset-link-expiry');
const copyButton = document.getElementById('copy-reset-link');

copyButton.addEventListener('click', async () => {
    linkField.select();
    try {
        await navigator.clipboard.writeText(linkField.value);
        copyButton.textContent = 'Copied';
    } catch {
        copyButton.textContent = 'Press Ctrl+C to copy';  // no clipboard permission: the text is selected
    }
});

function userURL(uid, rest) {
    return `${pythonURI}/api/users/${encodeURIComponent(uid)}/${rest}`;
}

function button(text, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', () => onClick(b));
    return b;
}

async function endSessions(uid, b, say) {
    b.disabled = true;
    const result = await send(userURL(uid, 'sessions'), requestOptions('DELETE'));
    b.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.ok) {
        const ended = result.body.data.ended;
        say(`Ended ${ended} ${ended === 1 ? 'session' : 'sessions'} of ${uid}.`, true);
    } else {
        say(messageOf(result));
    }
}

async function resetLink(uid, b, say) {
    b.disabled = true;
    const result = await send(userURL(uid, 'password-reset'), requestOptions('POST', undefined, 'no-cache'));
    b.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.status !== 201) {
        say(messageOf(result));
        return;
    }
    const { url, expires_at: expiresAt } = result.body.data;
    linkFor.textContent = uid;
    linkField.value = url;
    linkExpiry.dateTime = expiresAt;
    linkExpiry.textContent = new Date(expiresAt).toLocaleString();
    copyButton.textContent = 'Copy';
    linkPanel.hidden = false;
    linkField.focus();
    linkField.select();
    say(`A new reset link for ${uid}: any older one no longer works.`, true);
}

// The buttons for one row; on your own row they are off, as the role select is.
export function accountActions(user, self, say) {
    const end = button('End sessions', `End every session of ${user.uid}`, (b) => endSessions(user.uid, b, say));
    const reset = button('Reset link', `Make a password reset link for ${user.uid}`, (b) => resetLink(user.uid, b, say));
    end.disabled = reset.disabled = self;
    return [end, reset];
}
