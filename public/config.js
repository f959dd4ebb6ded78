// The lesson's config.js ("Frontend API Service Layer"): where the Python API lives,
// the fetch options every call uses, and the lesson's login() function.

import { sendRetrying, messageOf } from './js/api.js';

// Where the API is. A page the service serves itself (python serve.py, on any port) talks to its
// own origin. Only a page on the lesson's frontend ports (its Jekyll site on 4100, the static copy
// on 4887) is on another origin and keeps the lesson's rule: the API on port 8587 of the same host
// name (localhost and 127.0.0.1 are different origins, and different cookie hosts).
const LESSON_FRONTEND_PORTS = ['4100', '4887'];
export let pythonURI;
if (LESSON_FRONTEND_PORTS.includes(location.port) && ['localhost', '127.0.0.1'].includes(location.hostname)) {
    pythonURI = `http://${location.hostname}:8587`;
} else {
    pythonURI = location.origin;
}

// The lesson's fetchOptions. Frozen so no page can change them for the others.
export const fetchOptions = Object.freeze({
    method: 'GET',
    mode: 'cors',           // steps 2 and 16: a cross-origin call is allowed only if the API's CORS answer says so
    cache: 'default',
    credentials: 'include', // send the httpOnly JWT cookie along (step 16) and accept it from step 9
    headers: Object.freeze({
        // JSON, and a custom header: either one makes the browser send a CORS preflight
        // and makes the API's CSRF rule accept POST, PUT and DELETE.
        'Content-Type': 'application/json',
        'X-Origin': 'client',
    }),
});

// fetchOptions with another method and, if given, a JSON body: what the lesson's
// login() builds as its requestOptions, for every call that sends something.
export function requestOptions(method, body, cache) {
    const options = { ...fetchOptions, method };
    if (cache) {
        options.cache = cache;
    }
    if (body !== undefined) {
        options.body = JSON.stringify(body);
    }
    return options;
}

// The lesson's login(options), with the same options:
//   login({URL, callback, message, method, cache, body})
// Improved: on failure it shows the server's own message (step 14) instead of
// "Login error: 401", and it resolves to {ok, status, body} for callers that want it.
export function login(options) {
    const messageElement = document.getElementById(options.message);
    messageElement.textContent = '';

    // Steps 2-3: POST /api/authenticate with {uid, password} as JSON. A busy service (503, or 429 with a
    // short Retry-After) is asked again by itself, up to 3 times, saying "Busy, trying again in N s".
    const say = (text) => { messageElement.textContent = text; };
    return sendRetrying(options.URL, requestOptions(options.method || 'POST', options.body, options.cache), say)
        .then((result) => {
            if (result.ok) {
                // Steps 9-11: the cookie is set by the browser, not by us; go on.
                options.callback(result);
            } else {
                // Steps 12-14: 401 "Invalid user id or password", 429 throttling, ...
                // or status 0: the service is down or CORS refused us.
                messageElement.textContent = messageOf(result);
            }
            return result;
        });
}
