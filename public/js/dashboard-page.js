// dashboard.html: "Subsequent Authenticated Requests" (steps 15-23 of the lesson's diagram).
// The page never sees the token: the browser sends the httpOnly cookie by itself (step 16)
// and the service's token_required check (step 18) decides what we get.

import { pythonURI, fetchOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut } from './api.js';
import './logout.js';

const main = document.getElementById('main');
const message = document.getElementById('message');

function show(id, value) {
    document.getElementById(id).textContent = value ?? '—';
}

// issued_at, expires_at: ISO 8601 in UTC; shown in the reader's local time.
function showValue(detail, key, value) {
    const date = key.endsWith('_at') && typeof value === 'string' ? new Date(value) : null;
    if (date && !Number.isNaN(date.getTime())) {
        const time = document.createElement('time');
        time.dateTime = value;
        time.textContent = date.toLocaleString();
        detail.append(time);
    } else {
        detail.textContent = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    }
}

// Renders whatever object /api/data returns as a definition list; a list (the lesson's
// 23 steps) becomes an <ol>, so its numbers are the diagram's.
// textContent only: server data is never parsed as HTML.
function showData(data) {
    const list = document.getElementById('data-fields');
    list.replaceChildren();
    if (data === null || typeof data !== 'object') {
        return;
    }
    for (const [key, value] of Object.entries(data)) {
        const term = document.createElement('dt');
        term.textContent = key;
        const detail = document.createElement('dd');
        detail.id = `data-${key}`;
        if (Array.isArray(value)) {
            const items = document.createElement('ol');
            items.className = 'steps';
            for (const item of value) {
                const li = document.createElement('li');
                showValue(li, '', item);
                items.append(li);
            }
            detail.append(items);
        } else {
            showValue(detail, key, value);
        }
        list.append(term, detail);
    }
}

async function load() {
    // Steps 16-22, twice: who am I, and the protected data.
    const [me, data] = await Promise.all([
        send(`${pythonURI}/api/id`, fetchOptions),
        send(`${pythonURI}/api/data`, fetchOptions),
    ]);
    if (leaveIfSignedOut(me) || leaveIfSignedOut(data)) {
        return;
    }
    if (!me.ok) {
        message.textContent = messageOf(me);
    } else {
        show('user-uid', me.body.uid);
        show('user-name', me.body.name);
        show('user-role', me.body.role);
        show('user-email', me.body.email);
    }
    if (!data.ok) {
        message.textContent = messageOf(data);
    } else {
        // Step 23: display the data.
        show('data-message', data.body.message);
        showData(data.body.data);
    }
    main.removeAttribute('aria-busy');
}

load();
