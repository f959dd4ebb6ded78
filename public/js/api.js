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
        return { ok: response.ok, status: response.status, body };
    } catch (error) {
        return { ok: false, status: 0, body: null, error: String(error) };
    }
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
