// admin.html: the Admin routes of the API (the lesson's token_required(roles=["Admin"])).
//   GET    /api/users?page=&per_page=   the table, one page at a time
//   PUT    /api/users/<uid> {"role"}    the role select of a row
//   DELETE /api/users/<uid>             the Delete button of a row (after a confirm())
//   and "End sessions" / "Reset link" (admin-account-actions.js)
// 401 -> login page; 403 -> the "Admins only" notice. The service decides; this page only shows.

import { pythonURI, fetchOptions, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, sayIn } from './api.js';
import './logout.js';
import { accountActions } from './admin-account-actions.js';

const ROLES = ['User', 'Admin'];

const main = document.getElementById('main');
const message = document.getElementById('message');
const adminsOnly = document.getElementById('admins-only');
const panel = document.getElementById('users-panel');
const body = document.getElementById('users-body');
const prev = document.getElementById('prev');
const next = document.getElementById('next');
const pageInfo = document.getElementById('page-info');

function positiveInt(text, fallback) {
    const n = Number(text);
    return Number.isInteger(n) && n > 0 ? n : fallback;
}

const query = new URLSearchParams(location.search);
let page = positiveInt(query.get('page'), 1);
const perPage = Math.min(positiveInt(query.get('per_page'), 10), 200);  // the API's maximum
let myUid = null;

const say = sayIn(message);

function userURL(uid) {
    return `${pythonURI}/api/users/${encodeURIComponent(uid)}`;
}

function shortDate(value) {
    if (value === null || value === undefined) {
        return '—';
    }
    const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleDateString();
}

function cell(text) {
    const td = document.createElement('td');
    td.textContent = text ?? '—';
    return td;
}

async function changeRole(uid, select) {
    const before = select.dataset.role;
    select.disabled = true;
    const result = await send(userURL(uid), requestOptions('PUT', { role: select.value }));
    select.disabled = false;
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.ok) {
        select.value = select.dataset.role = result.body.role;
        say(`${uid} is now ${result.body.role}.`, true);
    } else {
        select.value = before;
        say(messageOf(result));
    }
}

async function remove(uid, button) {
    if (!confirm(`Delete the account ${uid}? This cannot be undone.`)) {
        return;
    }
    button.disabled = true;
    const result = await send(userURL(uid), requestOptions('DELETE'));
    if (leaveIfSignedOut(result)) {
        return;
    }
    if (result.status === 204) {
        say(`Deleted ${uid}.`, true);
    } else {
        say(messageOf(result));
    }
    await loadPage();
}

function row(user) {
    const tr = document.createElement('tr');
    tr.dataset.uid = user.uid;
    const self = user.uid === myUid;

    const uid = document.createElement('th');
    uid.scope = 'row';
    uid.textContent = self ? `${user.uid} (you)` : user.uid;

    // Your own row is read-only here, so an Admin cannot lock themself out by a slip.
    const select = document.createElement('select');
    select.setAttribute('aria-label', `Role of ${user.uid}`);
    select.dataset.role = user.role;
    for (const role of ROLES) {
        select.append(new Option(role, role, false, role === user.role));
    }
    select.disabled = self;
    select.addEventListener('change', () => changeRole(user.uid, select));
    const roleCell = document.createElement('td');
    roleCell.append(select);

    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'danger';
    button.textContent = 'Delete';
    button.setAttribute('aria-label', `Delete ${user.uid}`);
    button.disabled = self;
    button.addEventListener('click', () => remove(user.uid, button));
    const actionCell = document.createElement('td');
    actionCell.append(...accountActions(user, self, say), button);

    tr.append(uid, cell(user.name), cell(user.email), roleCell, cell(shortDate(user.created_at)), actionCell);
    return tr;
}

async function loadPage() {
    const result = await send(`${pythonURI}/api/users?page=${page}&per_page=${perPage}`, fetchOptions);
    if (leaveIfSignedOut(result)) {
        return;
    }
    main.removeAttribute('aria-busy');
    if (result.status === 403) {
        panel.hidden = true;
        adminsOnly.hidden = false;
        return;
    }
    if (!result.ok) {
        say(messageOf(result));
        return;
    }
    const { data, total } = result.body;
    const pages = Math.max(1, Math.ceil(total / perPage));
    if (data.length === 0 && page > pages) {  // e.g. the last row of the last page was deleted
        page = pages;
        return loadPage();
    }
    body.replaceChildren(...data.map(row));
    pageInfo.textContent = `Page ${page} of ${pages} · ${total} ${total === 1 ? 'user' : 'users'}`;
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    history.replaceState(null, '', `?page=${page}&per_page=${perPage}`);
    panel.hidden = false;
}

prev.addEventListener('click', () => { page -= 1; loadPage(); });
next.addEventListener('click', () => { page += 1; loadPage(); });

async function start() {
    const me = await send(`${pythonURI}/api/id`, fetchOptions);
    if (leaveIfSignedOut(me)) {
        return;
    }
    if (me.ok) {
        myUid = me.body.uid;
    }
    await loadPage();
}

start();
