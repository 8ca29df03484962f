// A university's identity provider for the hub's tests: node-oidc-provider (installed from
// package-lock.json by tests/identity/connectors/oidc_idp.py) with one client, the hub; the
// test users and their claims; and, in place of a login page, an interaction that signs in at
// once the user named by login_hint (anyone else: the patron cancelled, access_denied) and
// grants the scopes asked for. Usage: node university.mjs CONFIG.json (written by the test).
import http from "node:http";
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { default: Provider } = await import(config.module);

// the port first (the system's choice), then the issuer that names it
const server = http.createServer((req, res) => handle(req, res));
await new Promise((done) => server.listen(0, "127.0.0.1", done));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [config.client],
  jwks: { keys: config.keys },
  cookies: { keys: ["test-cookie-key-not-secret"] },
  scopes: ["openid", "profile", "affiliation"],
  claims: { openid: ["sub"], profile: ["name"], affiliation: ["eduperson_scoped_affiliation"] },
  findAccount: async (ctx, id) =>
    config.users[id] ? { accountId: id, claims: async () => ({ sub: id, ...config.users[id] }) } : undefined,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
});

const callback = provider.callback();
async function handle(req, res) {
  if (!req.url.startsWith("/interaction/")) {
    return callback(req, res);
  }
  try {
    const details = await provider.interactionDetails(req, res);
    const hint = details.params.login_hint;
    if (details.prompt.name === "login") {
      const result = hint && config.users[hint]
        ? { login: { accountId: hint } }
        : { error: "access_denied", error_description: "The patron cancelled" };
      return await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    }
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
}
process.stdout.write(`${issuer}\n`);
