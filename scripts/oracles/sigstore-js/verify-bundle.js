#!/usr/bin/env node
// Reference oracle: sigstore-js (@sigstore/bundle, @sigstore/verify), the Sigstore project's
// JavaScript verifier, on a bundle envaudit wrote.
//
//   node verify-bundle.js BUNDLE.json PUB.pem HINT
//
// Reads the bundle as sigstore-js does (protobuf JSON, then its v0.3 validation), finds the
// key by the bundle's hint (the trust material holds PUB.pem under HINT only), and verifies
// the DSSE signature with no transparency log, SCT or timestamp required (cosign's
// --insecure-ignore-tlog=true). Prints {"ok": true, ...} with the bundle as sigstore-js
// writes it back, or {"ok": false, "error": ...} and exits 1.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON, bundleToJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

const [bundlePath, pubPath, hint] = process.argv.slice(2);
if (!hint) {
  console.error('usage: verify-bundle.js BUNDLE.json PUB.pem HINT');
  process.exit(2);
}
try {
  const json = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
  const bundle = bundleFromJSON(json);
  const spki = crypto.createPublicKey(fs.readFileSync(pubPath)).export({ type: 'spki', format: 'der' });
  const root = { certificateAuthorities: [], ctlogs: [], tlogs: [], timestampAuthorities: [] };
  const trust = toTrustMaterial(root, { [hint]: { rawBytes: spki } });
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  const envelope = bundle.content.dsseEnvelope;
  console.log(JSON.stringify({
    ok: true,
    mediaType: bundle.mediaType,
    payloadType: envelope.payloadType,
    payload_sha256: crypto.createHash('sha256').update(envelope.payload).digest('hex'),
    written_back: bundleToJSON(bundle),
  }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
