// A real OpenID Connect provider on loopback for the console's single sign-on tests:
// panva's oidc-provider (certified implementation, pinned by package-lock.json), with one
// confidential client, PKCE required, and a minimal login form of its own for a few test
// users (no consent screen: the client is first-party, as at a council).
//
// Configured from the environment (tools/oidc.py sets it):
//   OIDC_TEST_PORT           port on 127.0.0.1
//   OIDC_TEST_ISSUER         issuer URL, e.g. http://127.0.0.1:<port>
//   OIDC_TEST_CLIENT_ID      the gateway's client id
//   OIDC_TEST_CLIENT_SECRET  its secret (client_secret_basic or client_secret_post)
//   OIDC_TEST_REDIRECT_URI   its one redirect URI
//   OIDC_TEST_USERS          JSON list of {sub, password, claims: {...}} (claims given by
//                            the userinfo endpoint: preferred_username, email, given_name…)
// Prints "oidc-provider listening on <issuer>" once ready.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_TEST_PORT'));
const issuer = required('OIDC_TEST_ISSUER');
const users = JSON.parse(required('OIDC_TEST_USERS'));
const bySub = new Map(users.map((user) => [user.sub, user]));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: required('OIDC_TEST_CLIENT_ID'),
    client_secret: required('OIDC_TEST_CLIENT_SECRET'),
    redirect_uris: [required('OIDC_TEST_REDIRECT_URI')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name', 'given_name', 'family_name'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return { accountId: sub, async claims() { return { sub, ...user.claims }; } };
  },
  // First-party client: every scope asked for is granted without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Fournisseur d'identité de test</title></head><body>
<h1>Fournisseur d'identité de test</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Identifiant</label> <input id="login" name="login" autofocus>
<label for="password">Mot de passe</label> <input id="password" name="password" type="password">
<button type="submit">Valider</button>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

// The interaction pages: the login form (the only prompt, consent being skipped above).
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'wrong interaction');
  if (details.prompt.name !== 'login') {
    return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
  }
  if (req.method === 'GET') return send(res, 200, loginPage(uid));
  if (action !== 'login') return send(res, 404, 'not found');
  const form = await readForm(req);
  const user = users.find((u) => u.claims.preferred_username === form.get('login')
    || u.claims.email === form.get('login') || u.sub === form.get('login'));
  if (!user || user.password !== form.get('password')) {
    return send(res, 200, loginPage(uid, 'Identifiant ou mot de passe incorrect.'));
  }
  return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, {
    mergeWithLastSubmission: false,
  });
}

const callback = provider.callback();
createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?/.exec(req.url);
  if (!match) return callback(req, res);
  return interaction(req, res, match[1], match[2]).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 400, escape(err.message));
  });
}).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
