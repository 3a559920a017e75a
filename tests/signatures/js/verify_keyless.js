// sigstore-js as the judge of keyless signatures: verifies BUNDLE.json against a custom Sigstore
// trusted root (TRUSTED_ROOT.json: its Fulcio CAs and Rekor logs) with a certificate identity
// policy: the SAN must match SUBJECT_REGEX (a JavaScript regular expression, as
// @sigstore/verify's policy tests it) and the Fulcio OIDC issuer extension must equal ISSUER.
// One transparency-log entry, one verified timestamp (its SET's integrated time) and one SCT
// from a CT log of the trusted root are required (Verifier's defaults). ARTIFACT is the signed bytes of a messageSignature bundle.
// Prints "ok" or the reason and exits 0 or 1.
//   usage: node verify_keyless.js TRUSTED_ROOT.json BUNDLE.json ARTIFACT ISSUER SUBJECT_REGEX
'use strict';
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
// The protobuf-specs that @sigstore/verify itself uses (a dependency of it, not of this package).
const { TrustedRoot } = require(require.resolve('@sigstore/protobuf-specs', { paths: [require.resolve('@sigstore/verify')] }));

function main() {
  const [rootPath, bundlePath, artifactPath, issuer, subject] = process.argv.slice(2);
  if (!subject) {
    console.error('usage: node verify_keyless.js TRUSTED_ROOT.json BUNDLE.json ARTIFACT ISSUER SUBJECT_REGEX');
    return 2;
  }
  try {
    const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, 'utf8')));
    const trust = toTrustMaterial(root);
    const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
    const verifier = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
    const signer = verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)), {
      subjectAlternativeName: subject,
      extensions: { issuer },
    });
    console.log(`ok ${signer.identity.subjectAlternativeName}`);
  } catch (e) {
    console.log(`refused: ${e.code || e.name}: ${e.message}${e.cause ? ` (${e.cause.message})` : ''}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
