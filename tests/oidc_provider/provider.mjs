// A real OpenID provider (panva's oidc-provider) for the identity tests.
//
//   node tests/oidc_provider/provider.mjs PORT
//
// serves the issuer http://127.0.0.1:PORT on the loopback interface only, signs ID tokens with
// the fixed RS256 key in signing-key.json (the tests read it too, to craft tokens that differ
// from a genuine one in one claim only), and lets a test log in without a browser: the
// development interactions take the subject from the form field `login`. Each e-government
// "legal person" below carries the unit's USCC in the `uscc` claim. Stop it by its process id.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node provider.mjs PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const jwks = JSON.parse(readFileSync(new URL('./signing-key.json', import.meta.url), 'utf8'));

// The test subjects: what the legal-person login of the e-government portal would assert.
const ACCOUNTS = {
  'unit-nanan-1': { uscc: '91500108MA6XC00011', name: '重庆南岸示范物业管理有限公司' },
  'unit-nanan-2': { uscc: '91500108MA6XC00024', name: '重庆南岸第二示范商场有限公司' },
  'unit-no-uscc': { name: '无统一社会信用代码的单位' },
  'unit-bad-uscc': { uscc: '91500108MA6XC00010', name: '校验位错误的单位' },
};

const CLIENT = {
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: 'RS256',
};

const configuration = {
  clients: [
    {
      ...CLIENT,
      client_id: 'psvs-ledger',
      client_secret: 'psvs-ledger-test-secret',
      redirect_uris: ['http://127.0.0.1/oidc/callback'],
    },
    {
      // Another relying party of the same provider: its tokens are real but not for us.
      ...CLIENT,
      client_id: 'another-portal',
      client_secret: 'another-portal-test-secret',
      redirect_uris: ['http://127.0.0.1/another/callback'],
    },
  ],
  jwks,
  scopes: ['openid', 'profile', 'uscc'],
  claims: { openid: ['sub'], profile: ['name'], uscc: ['uscc'] },
  // Put the requested claims in the ID token itself (not only at the userinfo endpoint),
  // which is what the ledger reads.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    const claims = ACCOUNTS[sub];
    if (claims === undefined) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
  cookies: { keys: ['psvs-ledger-test-provider-cookie-key'] },
  ttl: { IdToken: 600 },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
// Its state is in memory only: nothing to flush, so a signal ends it at once.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
