// dashboard.html, "Security activity": what happened to this account, newest first (docs/SESSIONS.md).
//   GET    /api/user/events?page=&per_page=   sign-ins, failed sign-ins, password and factor changes (90 days)
//   DELETE /api/sessions                      "This wasn't me": every other browser of the account is signed out
// After "This wasn't me" the password change comes next: the event "wsgi_auth:change-password" is sent on
// document, and the Change password panel (id "password-panel"), when the page has one, is brought into view.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, sayIn, timeElement } from './api.js';
import { describeBrowser } from './sessions-panel.js';

const PER_PAGE = 10;
const panel = document.getElementById('activity-panel');
const list = document.getElementById('activity');
const empty = document.getElementById('activity-empty');
const pager = document.getElementById('activity-pager');
const newer = document.getElementById('activity-newer');
const older = document.getElementById('activity-older');
const pageLabel = document.getElementById('activity-page');
const message = document.getElementById('activity-message');

const say = sayIn(message);
let page = 1;

// The contract's event types, as a person says them.
const WHAT = {
    sign_in: 'Signed in',
    sign_in_failed: 'Failed sign-in',
    password_changed: 'Password changed',
    password_reset: 'Password reset',
    email_changed: 'Email changed',
    email_verified: 'Email verified',
    totp_on: 'Two-factor authentication on',
    totp_off: 'Two-factor authentication off',
    recovery_code_used: 'Recovery code used',
    passkey_added: 'Passkey added',
    passkey_removed: 'Passkey removed',
    identity_linked: 'Sign-in linked',
    identity_unlinked: 'Sign-in unlinked',
    sessions_ended: 'Sessions ended',
    account_deleted: 'Account deleted',
};
const WARNINGS = new Set(['sign_in_failed', 'recovery_code_used', 'totp_off', 'password_reset']);

function item(event) {
    const li = document.createElement('li');
    li.className = 'activity-event';
    li.dataset.eventId = event.id;
    li.dataset.type = event.type;
    if (WARNINGS.has(event.type)) {
        li.classList.add('warning');
    }
    const text = document.createElement('div');
    text.className = 'activity-text';
    const what = document.createElement('span');
    what.className = 'activity-what';
    what.textContent = WHAT[event.type] || event.type;
    // Where from and which browser; an Admin's or the command line's event has neither, its detail says who.
    const where = document.createElement('span');
    where.className = 'activity-where';
    const parts = [];
    if (event.address) {
        parts.push(`from ${event.address}`);
    }
    if (event.user_agent) {
        parts.push(describeBrowser(event.user_agent));
    }
    if (event.detail) {
        parts.push(event.detail);
    }
    where.textContent = parts.join(' · ');
    where.title = event.user_agent || '';
    text.append(what, ' ', timeElement(event.at), where);

    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'danger';
    button.textContent = "This wasn't me";
    button.setAttribute('aria-label', `This wasn't me: ${what.textContent}, ${new Date(event.at).toLocaleString()}`);
    button.addEventListener('click', () => notMe(button));
    li.append(text, button);
    return li;
}

async function load() {
    const url = `${pythonURI}/api/user/events?page=${page}&per_page=${PER_PAGE}`;
    const result = await send(url, fetchOptions);
    if (leaveIfSignedOut(result)) {
        return;
    }
    panel.removeAttribute('aria-busy');
    if (!result.ok) {
        say(messageOf(result));
        return;
    }
    const { data, total } = result.body;
    list.replaceChildren(...data.map(item));
    empty.hidden = total > 0;
    const pages = Math.max(1, Math.ceil(total / PER_PAGE));
    pager.hidden = pages <= 1;
    pageLabel.textContent = `Page ${page} of ${pages}`;
    newer.disabled = page <= 1;
    older.disabled = page >= pages;
}

// Someone else: sign out every other browser at once, then the password (which the other one may know).
async function notMe(button) {
    button.disabled = true;
    const result = await send(`${pythonURI}/api/sessions`, requestOptions('DELETE'));
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (!result.ok) {
        say(messageOf(result));
        button.disabled = false;
        return;
    }
    const ended = result.body.data.ended;
    const signedOut = `Signed out ${ended} other ${ended === 1 ? 'session' : 'sessions'}.`;
    document.dispatchEvent(new CustomEvent('wsgi_auth:sessions-ended'));  // the Sessions panel reads its list again
    say(`${signedOut} Now change your password.`, true);
    // The Change password panel, when the page has one: told to open (its own script may listen), brought
    // into view, its first field focused.
    document.dispatchEvent(new CustomEvent('wsgi_auth:change-password'));
    const passwordPanel = document.getElementById('password-panel');
    if (passwordPanel) {
        passwordPanel.hidden = false;
        passwordPanel.scrollIntoView({ block: 'start' });
        const field = passwordPanel.querySelector('input:not([type=hidden]):not([disabled])');
        (field || passwordPanel).focus({ preventScroll: true });
    }
    page = 1;
    await load();
}

newer.addEventListener('click', () => {
    page = Math.max(1, page - 1);
    load();
});
older.addEventListener('click', () => {
    page += 1;
    load();
});

load();
