// A real OpenID Provider for the tests: npm's oidc-provider (a certified implementation),
// with its development login and consent pages ("Enter any login": the login becomes the
// account's subject). Started by the tests with node on a free port:
//
//     node provider.mjs '{"port": 0, "clients": [{"client_id": ..., "client_secret": ..., "redirect_uris": [...]}]}'
//
// It prints one line, `listening http://localhost:<port>`, when it is ready.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const options = JSON.parse(process.argv[2] || '{}');
const emails = options.emails || {};

// A fresh signing key every start: the tests never depend on a fixed one.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(6).toString('hex'), use: 'sig', alg: 'RS256' };

function account(id) {
    return {
        accountId: id,
        async claims() {
            return {
                sub: id,
                preferred_username: id,
                name: `Test user ${id}`,
                email: emails[id] || `${id}@example.test`,
                email_verified: true,
            };
        },
    };
}

const server = http.createServer();
server.listen(options.port || 0, '127.0.0.1', () => {
    const issuer = `http://localhost:${server.address().port}`;
    const provider = new Provider(issuer, {
        clients: (options.clients || []).map((client) => ({
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
            ...client,
        })),
        jwks: { keys: [jwk] },
        cookies: { keys: [randomBytes(32).toString('hex')] },
        claims: {
            openid: ['sub'],
            profile: ['preferred_username', 'name'],
            email: ['email', 'email_verified'],
        },
        findAccount: (ctx, id) => account(id),
        // Every client must send PKCE: a start that forgot it fails here, as at a strict provider.
        pkce: { required: () => true },
        features: { devInteractions: { enabled: true } },
        ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
        renderError(ctx, out) {
            ctx.type = 'html';
            ctx.body = `<!doctype html><title>oops</title><h1>oops! something went wrong</h1><pre>${JSON.stringify(out)}</pre>`;
        },
    });
    provider.on('server_error', (ctx, error) => console.error('server_error', error));
    const callback = provider.callback();
    server.on('request', (req, res) => {
        if (req.url === '/favicon.ico') {  // browsers ask; an answer keeps their console clean
            res.writeHead(204).end();
            return;
        }
        callback(req, res);
    });
    console.log(`listening ${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(0));
}
