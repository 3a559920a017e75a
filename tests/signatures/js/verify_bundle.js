// sigstore-js as a judge of sbpipe's bundles: verifies BUNDLE.json with the public key KEY.pem
// (the key found by its hint, which this script computes itself: base64 SHA-256 of the DER
// public key), with no transparency log, SCT or timestamp required (a key-signed bundle, as
// Talos checks a publicKey rule). ARTIFACT is the signed file for a messageSignature bundle.
// Prints "ok" or the reason and exits 0 or 1.
//   usage: node verify_bundle.js KEY.pem BUNDLE.json [ARTIFACT]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function main() {
  const [keyPath, bundlePath, artifactPath] = process.argv.slice(2);
  if (!keyPath || !bundlePath) {
    console.error('usage: node verify_bundle.js KEY.pem BUNDLE.json [ARTIFACT]');
    return 2;
  }
  const key = crypto.createPublicKey(fs.readFileSync(keyPath));
  const der = key.export({ type: 'spki', format: 'der' });
  const hint = crypto.createHash('sha256').update(der).digest('base64');
  const root = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  const trust = toTrustMaterial(root, { [hint]: { rawBytes: der } });
  try {
    const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
    const artifact = artifactPath ? fs.readFileSync(artifactPath) : undefined;
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    verifier.verify(toSignedEntity(bundle, artifact));
  } catch (e) {
    console.log(`refused: ${e.code || e.name}: ${e.message}`);
    return 1;
  }
  console.log('ok');
  return 0;
}

process.exitCode = main();
