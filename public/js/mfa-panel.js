// dashboard.html, "Two-factor authentication": TOTP with an authenticator app, and recovery codes.
//   GET    /api/mfa                 on or off, how many recovery codes are left
//   POST   /api/mfa/totp            {current_password}: a new secret, its QR code (not asked at login yet)
//   POST   /api/mfa/totp/confirm    {code}: the app's current code turns it on; the recovery codes, shown once
//   DELETE /api/mfa/totp            {current_password, code}: off; every other session ends
// Every failure shows the server's own message. See docs/SECOND_FACTORS.md.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, sayIn, loadPanel } from './api.js';
import { sendConfirmed } from './confirm-identity.js';

const panel = document.getElementById('mfa-panel');
const statusLine = document.getElementById('mfa-status');
const message = document.getElementById('mfa-message');
const enableForm = document.getElementById('mfa-enable-form');
const enablePassword = document.getElementById('mfa-enable-password');
const confirmForm = document.getElementById('mfa-confirm-form');
const qr = document.getElementById('totp-qr');
const secret = document.getElementById('totp-secret');
const confirmCode = document.getElementById('mfa-confirm-code');
const recovery = document.getElementById('mfa-recovery');
const recoveryList = document.getElementById('recovery-codes');
const copyButton = document.getElementById('copy-recovery-codes');
const doneButton = document.getElementById('recovery-done');
const disableForm = document.getElementById('mfa-disable-form');
const disablePassword = document.getElementById('mfa-disable-password');
const disableCode = document.getElementById('mfa-disable-code');

let shownCodes = [];

const say = sayIn(message);

// Which of the panel's parts is on screen: 'off', 'setup', 'codes' or 'on'.
function showPart(part) {
    enableForm.hidden = part !== 'off';
    confirmForm.hidden = part !== 'setup';
    recovery.hidden = part !== 'codes';
    disableForm.hidden = part !== 'on';
}

function showStatus(data) {
    if (data.totp) {
        const left = data.recovery_codes_left;
        statusLine.textContent = `On: a login asks for a code from your authenticator app. ${left} recovery ` +
            `${left === 1 ? 'code' : 'codes'} left.`;
    } else {
        statusLine.textContent = 'Off: a login asks for your password only.';
    }
}

async function load() {
    const status = await loadPanel(panel, `${pythonURI}/api/mfa`, fetchOptions, say);
    if (status === null) {
        return;
    }
    showStatus(status);
    if (recovery.hidden) {  // the codes stay on screen until the user says they are saved
        showPart(status.totp ? 'on' : 'off');
    }
}

// The QR code is an SVG the service made; shown as an image (data: URL), never parsed into this page,
// so nothing in it could run (img-src allows data: in the Content-Security-Policy).
function showQR(svg) {
    const bytes = new TextEncoder().encode(svg);
    let binary = '';
    for (const byte of bytes) {
        binary += String.fromCharCode(byte);
    }
    qr.src = `data:image/svg+xml;base64,${btoa(binary)}`;
}

enableForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    say('');
    const result = await sendConfirmed(`${pythonURI}/api/mfa/totp`,
        requestOptions('POST', { current_password: enablePassword.value }));
    if (leaveIfSignedOut(result)) {
        return;
    }
    enablePassword.value = '';
    if (!result.ok) {
        say(messageOf(result));  // 403 wrong password, 409 already on, 429 too many failures
        return;
    }
    showQR(result.body.data.qr_svg);
    secret.textContent = result.body.data.secret;
    confirmCode.value = '';
    showPart('setup');
    confirmCode.focus();
});

confirmForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    say('');
    const result = await send(`${pythonURI}/api/mfa/totp/confirm`,
        requestOptions('POST', { code: confirmCode.value.trim() }));
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (!result.ok) {
        say(messageOf(result));  // 400: not the app's current code, or nothing being set up
        confirmCode.select();
        return;
    }
    shownCodes = result.body.data.recovery_codes;
    recoveryList.replaceChildren(...shownCodes.map((recoveryCode) => {
        const item = document.createElement('li');
        item.textContent = recoveryCode;
        return item;
    }));
    secret.textContent = '';
    qr.removeAttribute('src');
    showPart('codes');
    say(result.body.message, true);
    await load();
});

copyButton.addEventListener('click', async () => {
    try {
        await navigator.clipboard.writeText(shownCodes.join('\n'));
        say('Copied the recovery codes.', true);
    } catch {
        // No clipboard here (plain http off localhost, or permission refused): select them instead.
        const range = document.createRange();
        range.selectNodeContents(recoveryList);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        say('Copying is not allowed here: the recovery codes are selected, copy them yourself.', 'info');
    }
});

doneButton.addEventListener('click', () => {
    shownCodes = [];
    recoveryList.replaceChildren();
    recovery.hidden = true;
    say('');
    load();
});

disableForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    say('');
    const result = await sendConfirmed(`${pythonURI}/api/mfa/totp`,
        requestOptions('DELETE', { current_password: disablePassword.value, code: disableCode.value.trim() }));
    if (leaveIfSignedOut(result)) {
        return;
    }
    disablePassword.value = '';
    disableCode.value = '';
    if (!result.ok) {
        say(messageOf(result));  // 403 wrong password or code, 429 too many failures
        return;
    }
    say(result.body.message, true);
    showStatus(result.body.data);
    showPart('off');
});

document.getElementById('mfa-enable').disabled = false;
document.getElementById('mfa-disable').disabled = false;
load();
