// A real OpenID provider (oauth2-mock-server) on loopback for the OAuth tests, with switches
// that make it misbehave the way an attacker or a broken provider would.
//
// Prints one JSON line when ready: {"issuer": "http://127.0.0.1:PORT"}. Then reads JSON
// commands, one per line, and answers each with one JSON line:
//   {"cmd": "mode", "mode": {...}}  how the next ID tokens and redirects look (replaces the last):
//       claims:          merged into the ID token's payload (e.g. {"nonce": "x"}, {"exp": 0})
//       sign:            "provider" (default), "none", "unknown_key" or "hs256"
//       kid:             sign with this key of the provider's JWKS
//       authorize_iss:   add this RFC 9207 `iss` to the redirect back
//       authorize_error: send this `error` back instead of a code
//   {"cmd": "rotate"}  adds a new signing key to the JWKS and signs with it from now on
// Exits when stdin closes, so the test's drop of the process handle stops it.

import crypto from "node:crypto";
import readline from "node:readline";
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
const first = await server.issuer.keys.generate("RS256");
await server.start(0, "127.0.0.1");
const port = server.address().port;
server.issuer.url = `http://127.0.0.1:${port}`;

const outsider = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
let mode = {};
let signingKid = first.kid;

const b64 = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const parse = (part) => JSON.parse(Buffer.from(part, "base64url").toString());

function resign(token) {
  const [headerPart, payloadPart] = token.split(".");
  const header = parse(headerPart);
  const payload = { ...parse(payloadPart), ...(mode.claims ?? {}) };
  const kid = mode.kid ?? signingKid;
  switch (mode.sign ?? "provider") {
    case "none": {
      return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
    }
    case "hs256": {
      // HMAC keyed with the provider's public key: the classic algorithm-confusion forgery.
      const publicJwk = server.issuer.keys.toJSON().find((k) => k.kid === header.kid);
      const input = `${b64({ alg: "HS256", typ: "JWT", kid: header.kid })}.${b64(payload)}`;
      const mac = crypto.createHmac("sha256", JSON.stringify(publicJwk)).update(input).digest("base64url");
      return `${input}.${mac}`;
    }
    case "unknown_key": {
      const input = `${b64({ alg: "RS256", typ: "JWT", kid: "not-published" })}.${b64(payload)}`;
      return `${input}.${crypto.sign("sha256", Buffer.from(input), outsider).toString("base64url")}`;
    }
    default: {
      const jwk = server.issuer.keys.get(kid);
      const key = crypto.createPrivateKey({ key: jwk, format: "jwk" });
      const input = `${b64({ alg: "RS256", typ: "JWT", kid })}.${b64(payload)}`;
      return `${input}.${crypto.sign("sha256", Buffer.from(input), key).toString("base64url")}`;
    }
  }
}

server.service.on("beforeResponse", (response) => {
  if (typeof response.body.id_token === "string") {
    response.body.id_token = resign(response.body.id_token);
  }
});

server.service.on("beforeAuthorizeRedirect", (redirect) => {
  if (mode.authorize_iss) {
    redirect.url.searchParams.set("iss", mode.authorize_iss);
  }
  if (mode.authorize_error) {
    redirect.url.searchParams.delete("code");
    redirect.url.searchParams.set("error", mode.authorize_error);
  }
});

process.stdout.write(`${JSON.stringify({ issuer: server.issuer.url })}\n`);

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  if (command.cmd === "mode") {
    mode = command.mode ?? {};
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
  } else if (command.cmd === "rotate") {
    const key = await server.issuer.keys.generate("RS256");
    signingKid = key.kid;
    process.stdout.write(`${JSON.stringify({ ok: true, kid: key.kid })}\n`);
  } else {
    process.stdout.write(`${JSON.stringify({ ok: false, error: "unknown command" })}\n`);
  }
}
await server.stop();
