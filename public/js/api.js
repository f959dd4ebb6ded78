// The one place the pages call fetch() (steps 2-3 and 16 of the lesson's sequence diagram).
// Every call resolves to {ok, status, body} and never throws, so a page branches on status alone.

// Status 0 means the browser got no answer it may read: the service is down, or CORS refused
// this origin. fetch() rejects with the same TypeError in both cases, on purpose.
export const UNREACHABLE = 'Service unreachable (network or CORS error)';

// The sessionStorage key the Log out button leaves for the login page.
export const SIGNED_OUT = 'wsgi_auth.signed-out';

export async function send(url, init) {
    try {
        const response = await fetch(url, init);
        // 204 (DELETE /api/users/<uid>) has no body; every other API answer is JSON.
        const text = await response.text();
        let body = null;
        if (text) {
            try {
                body = JSON.parse(text);
            } catch {
                body = null;
            }
        }
        // Retry-After (in seconds) of a 503 or 429; the API exposes it to other origins too (CORS).
        const retryAfter = Number.parseInt(response.headers.get('Retry-After') || '', 10);
        return { ok: response.ok, status: response.status, body, retryAfter: Number.isNaN(retryAfter) ? null : retryAfter };
    } catch (error) {
        return { ok: false, status: 0, body: null, error: String(error) };
    }
}

// A busy service (503: every hashing slot taken and the queue full; 429 that ends soon) says when to
// come back. The login, signup and reset pages then wait and send the same request again by
// themselves, at most RETRIES times, while their button stays disabled.
export const RETRIES = 3;
export const LONGEST_RETRY_AFTER = 10;  // seconds; a longer wait is the server's message instead

export function isBusy(result) {
    return (result.status === 503 || result.status === 429)
        && result.retryAfter !== null && result.retryAfter >= 0 && result.retryAfter <= LONGEST_RETRY_AFTER;
}

// send(), again after Retry-After while the answer is busy; say(text) shows "Busy, trying again in N s",
// counting down. Resolves to the last answer.
export async function sendRetrying(url, init, say) {
    let result = await send(url, init);
    for (let retry = 0; retry < RETRIES && isBusy(result); retry += 1) {
        for (let left = Math.max(1, result.retryAfter); left > 0; left -= 1) {
            say(`Busy, trying again in ${left} s`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        say('');
        result = await send(url, init);
    }
    return result;
}

// What to tell the user about a failed call: the server's own sentence when it sent one.
export function messageOf(result) {
    if (result.status === 0) {
        return UNREACHABLE;
    }
    if (result.body && typeof result.body.message === 'string') {
        return result.body.message;
    }
    return `Request failed (HTTP ${result.status})`;
}

// A 401 on a signed-in page means no valid cookie (never logged in, logged out, expired,
// revoked): back to the login page. replace(), so "Back" does not return here.
export function leaveIfSignedOut(result) {
    if (result.status === 401) {
        location.replace('index.html');
        return true;
    }
    return false;
}

// say(text, kind) for one message element: the server's sentence (an error, red), a success
// (kind true or 'ok': class "ok", green) or a plain note (kind 'info': class "info", neither).
export function sayIn(element) {
    return (text, kind = false) => {
        element.classList.toggle('ok', kind === true || kind === 'ok');
        element.classList.toggle('info', kind === 'info');
        element.textContent = text;
    };
}

// A <time> for a timestamp from the API, in the reader's locale; the raw text if it is not a date.
export function timeElement(value, dateOnly = false) {
    const date = new Date(value);
    const time = document.createElement('time');
    time.dateTime = value;
    if (Number.isNaN(date.getTime())) {
        time.textContent = String(value);
    } else {
        time.textContent = dateOnly ? date.toLocaleDateString() : date.toLocaleString();
    }
    return time;
}

// A dashboard panel's first GET: the answer's data, or null after saying why. A 401 leaves for the
// login page; the panel stops being busy either way.
export async function loadPanel(panel, url, init, say) {
    const result = await send(url, init);
    if (leaveIfSignedOut(result)) {
        return null;
    }
    panel.removeAttribute('aria-busy');
    if (!result.ok) {
        say(messageOf(result));
        return null;
    }
    return result.body.data;
}
