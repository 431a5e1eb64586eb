// A real OpenID Connect provider (panva's oidc-provider) for the test suite.
// Usage: node provider.mjs CONFIG.json. The test writes CONFIG.json:
//   {"issuer": "http://127.0.0.1:PORT", "port": PORT, "jwksPath": "...",
//    "clients": [...], "accounts": {"id": {"preferred_username": "...", ...}},
//    "apiResource": "urn:...", "apiAudience": "..."}
// The keys come from the JWKS file (private JWKs; the first signs). POST /__test/reload
// builds the provider again from the file (a key rotation); sign-ins in progress and
// grants survive it (the in-memory adapter's store is shared by every instance).
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function account(id) {
  return Object.hasOwn(config.accounts, id) ? config.accounts[id] : undefined;
}

function build() {
  const jwks = JSON.parse(fs.readFileSync(config.jwksPath, 'utf8'));
  const provider = new Provider(config.issuer, {
    clients: config.clients,
    jwks,
    cookies: { keys: ['needtoknow-test-provider-cookie-key'] },
    pkce: { required: () => true },
    conformIdTokenClaims: false, // the username claim goes in the ID token
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email'],
    },
    async findAccount(ctx, id) {
      const claims = account(id);
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    async extraTokenClaims(ctx, token) {
      const claims = token.accountId ? account(token.accountId) : undefined;
      return claims ? { preferred_username: claims.preferred_username } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        async getResourceServerInfo(ctx, resource) {
          if (resource !== config.apiResource) throw new Error('unknown resource');
          return {
            scope: 'api',
            audience: config.apiAudience,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  return provider;
}

let current = build();
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__test/reload') {
    try {
      current = build();
      res.end('reloaded');
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error));
    }
    return;
  }
  current.callback()(req, res);
});
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
