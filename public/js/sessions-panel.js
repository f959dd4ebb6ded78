// dashboard.html, "Sessions": every signed-in browser of this account (ASVS 7.5.2), and ending them.
//   GET    /api/sessions        the live sessions, newest first; "current" marks this browser
//   DELETE /api/sessions/<id>   sign one out (this browser's own: a logout)
//   DELETE /api/sessions        sign out everywhere else; this browser stays signed in
// The service ends a session at once, on every worker and host: the other browser's next request is a 401.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, sayIn, timeElement, loadPanel } from './api.js';

const panel = document.getElementById('sessions-panel');
const body = document.getElementById('sessions-body');
const message = document.getElementById('sessions-message');
const othersButton = document.getElementById('sign-out-others');

const say = sayIn(message);

// "Firefox 128 on Linux" from a User-Agent header: enough to tell one's own browsers apart.
const BROWSERS = [
    ['Edg/', 'Edge'], ['OPR/', 'Opera'], ['Firefox/', 'Firefox'], ['HeadlessChrome/', 'Headless Chrome'],
    ['Chrome/', 'Chrome'], ['Version/', 'Safari'], ['curl/', 'curl'],
];
const SYSTEMS = [
    ['Windows', 'Windows'], ['Android', 'Android'], ['iPhone', 'iOS'], ['iPad', 'iPadOS'],
    ['Mac OS X', 'macOS'], ['CrOS', 'ChromeOS'], ['Linux', 'Linux'],
];

export function describeBrowser(userAgent) {
    if (!userAgent) {
        return 'Unknown browser';
    }
    const found = BROWSERS.find(([token]) => userAgent.includes(token));
    const system = SYSTEMS.find(([token]) => userAgent.includes(token));
    if (!found) {
        return userAgent.length > 60 ? `${userAgent.slice(0, 60)}…` : userAgent;
    }
    const version = userAgent.split(found[0])[1].split(/[ .;)]/)[0];
    return `${found[1]} ${version}${system ? ` on ${system[1]}` : ''}`;
}

const when = (value) => timeElement(value);

function cell(content) {
    const td = document.createElement('td');
    td.append(content ?? '—');
    return td;
}

function row(session) {
    const tr = document.createElement('tr');
    tr.dataset.sessionId = session.id;
    const browser = document.createElement('th');
    browser.scope = 'row';
    browser.textContent = describeBrowser(session.user_agent);
    browser.title = session.user_agent || '';
    if (session.current) {
        const mark = document.createElement('strong');
        mark.textContent = ' (this browser)';
        browser.append(mark);
        tr.classList.add('current');
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'danger';
    button.textContent = 'Sign out';
    button.setAttribute('aria-label', `Sign out ${browser.textContent}`);
    button.addEventListener('click', () => end(session, button));
    tr.append(browser, cell(session.address), cell(when(session.created_at)),
        cell(when(session.last_seen_at)), cell(button));
    return tr;
}

async function load() {
    const sessions = await loadPanel(panel, `${pythonURI}/api/sessions`, fetchOptions, say);
    if (sessions === null) {
        return;
    }
    body.replaceChildren(...sessions.map(row));
    othersButton.disabled = !sessions.some((session) => !session.current);
}

async function end(session, button) {
    button.disabled = true;
    const result = await send(`${pythonURI}/api/sessions/${encodeURIComponent(session.id)}`, requestOptions('DELETE'));
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.status === 204 && session.current) {
        location.replace('index.html');  // ending this browser's own session is a logout
        return;
    }
    say(result.status === 204 ? 'That browser is signed out.' : messageOf(result), result.status === 204);
    await load();
}

othersButton.addEventListener('click', async () => {
    othersButton.disabled = true;
    const result = await send(`${pythonURI}/api/sessions`, requestOptions('DELETE'));
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.ok) {
        const ended = result.body.data.ended;
        say(`Signed out ${ended} other ${ended === 1 ? 'session' : 'sessions'}.`, true);
    } else {
        say(messageOf(result));
    }
    await load();
});

// "This wasn't me" (js/activity-panel.js) ends the other sessions too: the list is read again.
document.addEventListener('wsgi_auth:sessions-ended', load);

load();
