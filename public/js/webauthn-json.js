// Passkeys in the browser: the API speaks JSON (base64url strings), navigator.credentials speaks
// ArrayBuffers. These convert one to the other by hand, field by field, as WebAuthn's
// PublicKeyCredential*JSON types lay them out (the service's py_webauthn reads exactly those).
// Used by js/passkey-login.js (the login page), js/passkeys-panel.js and js/confirm-identity.js (the dashboard).

import { requestOptions as fetchInit } from '../config.js';
import { send, messageOf } from './api.js';

// Passkeys need a browser that has them, a secure page (https, or http://localhost) and a host name:
// a passkey belongs to a domain (its relying party ID), never to an IP address such as 127.0.0.1.
const onIPAddress = /^\d{1,3}(\.\d{1,3}){3}$/.test(location.hostname) || location.hostname.includes(':')
    || location.hostname.startsWith('[');
const hasPasskeys = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
export const supported = hasPasskeys && window.isSecureContext && !onIPAddress;
// Why not, in a sentence for the page (empty when they work).
export const unsupportedReason = supported ? ''
    : !hasPasskeys ? 'This browser cannot make passkeys.'
        : onIPAddress ? `Passkeys need a host name, not the address ${location.hostname}: open this page on localhost or its domain.`
            : 'Passkeys need a secure page: open this site over https (or on localhost).';

// base64url (RFC 4648 section 5, no padding) -> ArrayBuffer
export function toBuffer(base64url) {
    const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) {
        bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
}

// ArrayBuffer (or a view of one) -> base64url
export function toBase64url(buffer) {
    const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer)
        : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let binary = '';
    for (const byte of bytes) {
        binary += String.fromCharCode(byte);
    }
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function descriptors(list) {
    return (list || []).map((descriptor) => ({ ...descriptor, id: toBuffer(descriptor.id) }));
}

// POST /api/passkeys/options' data -> the publicKey argument of navigator.credentials.create()
export function creationOptions(json) {
    return {
        ...json,
        challenge: toBuffer(json.challenge),
        user: { ...json.user, id: toBuffer(json.user.id) },
        excludeCredentials: descriptors(json.excludeCredentials),
    };
}

// POST /api/authenticate/passkey/options' data -> the publicKey argument of navigator.credentials.get()
export function requestOptions(json) {
    return { ...json, challenge: toBuffer(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function common(credential) {
    return {
        id: credential.id,
        rawId: toBase64url(credential.rawId),
        type: credential.type,
        clientExtensionResults: credential.getClientExtensionResults(),
        authenticatorAttachment: credential.authenticatorAttachment ?? null,
    };
}

// navigator.credentials.create()'s answer -> RegistrationResponseJSON, the body's "credential"
export function registrationJSON(credential) {
    const response = credential.response;
    return {
        ...common(credential),
        response: {
            clientDataJSON: toBase64url(response.clientDataJSON),
            attestationObject: toBase64url(response.attestationObject),
            transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
        },
    };
}

// navigator.credentials.get()'s answer -> AuthenticationResponseJSON, the body's "credential"
export function authenticationJSON(credential) {
    const response = credential.response;
    return {
        ...common(credential),
        response: {
            clientDataJSON: toBase64url(response.clientDataJSON),
            authenticatorData: toBase64url(response.authenticatorData),
            signature: toBase64url(response.signature),
            userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
        },
    };
}

// What to tell the user when the browser's own passkey dialog fails (the server was not asked).
export function browserMessage(error) {
    switch (error && error.name) {
    case 'NotAllowedError':
        return 'The passkey dialog was closed or timed out';
    case 'InvalidStateError':
        return 'This device already has a passkey for this account';
    case 'SecurityError':
        return 'Passkeys work only on https pages, or on http://localhost';
    case 'NotSupportedError':
        return 'This browser or device cannot make a passkey';
    default:
        return `Passkey error: ${error && error.message ? error.message : String(error)}`;
    }
}

// POST to optionsUrl for a challenge, then let the browser sign it with a passkey:
// {credential} (AuthenticationResponseJSON, to send on), or {error} (a sentence to show).
export async function askForAssertion(optionsUrl) {
    const options = await send(optionsUrl, fetchInit('POST', {}, 'no-cache'));
    if (!options.ok) {
        return { error: messageOf(options) };
    }
    try {
        const credential = await navigator.credentials.get({ publicKey: requestOptions(options.body.data) });
        return { credential: authenticationJSON(credential) };
    } catch (error) {
        return { error: browserMessage(error) };
    }
}
