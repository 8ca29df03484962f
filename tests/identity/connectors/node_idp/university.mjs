// A university's identity provider for the hub's tests: node-oidc-provider (installed from
// package-lock.json by tests/identity/connectors/oidc_idp.py) with one client, the hub; the
// test users and their claims; and a login that signs in at once the user named by login_hint,
// or else asks for a username on a plain form (a name it does not know: the patron cancelled,
// access_denied), then grants the scopes asked for. Usage: node university.mjs CONFIG.json
// (written by the test).
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
    let hint = details.params.login_hint;
    if (details.prompt.name === "login" && req.method === "POST") {
      hint = new URLSearchParams(await body(req)).get("username");
    } else if (details.prompt.name === "login" && !hint) {
      res.setHeader("Content-Type", "text/html; charset=utf-8");
      return res.end(
        `<!doctype html><title>University sign-in</title><form method="post">` +
          `<label for="username">Username</label><input id="username" name="username">` +
          `<button>Sign in</button></form>`,
      );
    }
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

async function body(req) {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
  }
  return text;
}

process.stdout.write(`${issuer}\n`);
