// verify.html#token=...: the link of a verification email.
// The token is taken from the fragment (never sent to any server by the browser) and the fragment is
// then cleared, so it does not stay in the address bar, a bookmark or the history. Opening the link is
// the confirmation, so the token is posted at once: POST /api/user/email/verify {token} -> 200 and the
// user, with email_verified true. It does not sign in.

import { pythonURI, requestOptions } from '../config.js';
import { send, messageOf, sayIn } from './api.js';

const say = sayIn(document.getElementById('message'));
const next = document.getElementById('next');
const again = document.getElementById('again');

const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (location.hash) {
    history.replaceState(null, '', location.pathname + location.search);
}

async function verify() {
    if (!token) {
        say('This verification link is incomplete. Open the whole link from the email.');
        again.hidden = false;
        return;
    }
    const result = await send(`${pythonURI}/api/user/email/verify`, requestOptions('POST', { token }, 'no-cache'));
    if (result.ok) {
        say(`Thank you: ${result.body.email} is verified for the account ${result.body.uid}.`, true);
        next.hidden = false;
        return;
    }
    say(messageOf(result));
    again.hidden = result.status !== 400;
}

verify();
