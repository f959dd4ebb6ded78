// The "Log out" button of the signed-in pages: DELETE /api/authenticate, then the login page.
// DELETE must carry Content-Type or X-Origin (the CSRF rule): requestOptions() adds both.
// The service clears the cookie and revokes the token server-side, so a copied token dies too.

import { pythonURI, requestOptions } from '../config.js';
import { send, messageOf, leaveIfSignedOut, SIGNED_OUT } from './api.js';

const button = document.getElementById('logout');
const message = document.getElementById('message');

button.addEventListener('click', async () => {
    button.disabled = true;
    const result = await send(`${pythonURI}/api/authenticate`, requestOptions('DELETE'));
    if (result.ok) {
        sessionStorage.setItem(SIGNED_OUT, '1');  // read once by the login page, which says "Signed out"
        location.replace('index.html');
        return;
    }
    if (leaveIfSignedOut(result)) {  // already signed out: same destination
        return;
    }
    button.disabled = false;
    message.textContent = messageOf(result);
});
