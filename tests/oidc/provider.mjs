// A real, certified OpenID provider (the npm package oidc-provider) on loopback, for the
// CRM's SSO tests and for the development provider that scripts/run.sh starts.
//
//   node tests/oidc/provider.mjs CONFIG.json     (or the JSON on stdin)
//
// CONFIG: {
//   "port": 0,                      0: any free port (the default)
//   "issuer": "http://127.0.0.1:5556",           default http://127.0.0.1:<port>
//   "name": "Development IdP",                   shown on its pages
//   "groupsClaim": "groups",
//   "clients": [ oidc-provider client metadata: client_id, client_secret, redirect_uris,
//                post_logout_redirect_uris, backchannel_logout_uri, ... ],
//   "accounts": { "<login = sub>": { "name", "given_name", "family_name", "email",
//                                    "groups": [...] } },
//   "adminToken": "..."             enables /__admin/* (tests only), Bearer-protected
// }
//
// When it listens it prints one line: OIDC-PROVIDER-READY {"issuer": ..., "port": ...}
//
// Sign-in uses the provider's own development login page (devInteractions): the login
// is the account's key, any password is accepted. Consent is skipped for the configured
// clients (they are first-party), as a company provider would.
//
// Admin endpoints (tests): PUT /__admin/accounts replaces the accounts;
// POST /__admin/backchannel-logout {client_id, sub, sid} makes the provider send a
// back-channel logout token to that client.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
let accounts = config.accounts ?? {};
const groupsClaim = config.groupsClaim ?? 'groups';
const providerName = config.name ?? 'Test identity provider';
const firstParty = new Set((config.clients ?? []).map((client) => client.client_id));

const server = createServer();
await new Promise((resolve) => { server.listen(config.port ?? 0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = config.issuer ?? `http://127.0.0.1:${port}`;

const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main>
</body></html>`;

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', groupsClaim],
    email: ['email', 'email_verified'],
  },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page(`Sign out of ${providerName}?`, `${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', `<p>You have signed out of ${escapeHtml(providerName)}.</p>`);
      },
    },
  },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...account };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!firstParty.has(ctx.oidc.client.clientId)) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
  // The relying party listens on loopback here, which oidc-provider's protection
  // against server-side request forgery would refuse for back-channel logout calls.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
});

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

async function admin(req, res) {
  if (!config.adminToken || req.headers.authorization !== `Bearer ${config.adminToken}`) {
    res.writeHead(404).end();
    return;
  }
  try {
    if (req.method === 'PUT' && req.url === '/__admin/accounts') {
      accounts = await readJson(req);
      res.writeHead(204).end();
    } else if (req.method === 'POST' && req.url === '/__admin/backchannel-logout') {
      const { client_id: clientId, sub, sid } = await readJson(req);
      const client = await provider.Client.find(clientId);
      await client.backchannelLogout(sub, sid);
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err.message));
  }
}

const handle = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/__admin/')) {
    admin(req, res);
  } else {
    handle(req, res);
  }
});

const stop = () => { server.closeAllConnections(); server.close(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`OIDC-PROVIDER-READY ${JSON.stringify({ issuer, port })}\n`);
