#pragma once
// Keyless signatures judged as Talos judges a keyless ImageVerificationConfig
// rule (siderolabs/talos internal/pkg/containers/image/verify/verify.go:
// cosign CheckOpts with the trusted root and one Identity), that is as
// cosign (pkg/cosign/verify.go: CheckCertificatePolicy, VerifyBundle) and
// sigstore-go (pkg/verify/signed_entity.go Verify, tlog.go VerifyTlogEntry,
// certificate.go VerifyLeafCertificate) do, offline:
// 1. a transparency-log entry from a log of the trusted root whose signed
//    entry timestamp verifies (tlog_entry.h), with its inclusion proof when
//    it has one; its body is this signature (same signature, same
//    certificate, same digest); its integrated time lies inside the leaf's
//    validity. Entries from other logs, or whose SET fails, are passed over,
//    as sigstore-go does; one must verify;
// 2. the leaf chains, at that integrated time, to a CA of the trusted root
//    whose validFor holds that time, for code signing (certificate.h), and
//    carries an SCT from a CT log of the trusted root, valid at the SCT's
//    time, that verifies (pkg/verify/sct.go; cosign asks for one unless
//    IgnoreSCT, which Talos does not set);
// 3. the signature verifies with the leaf's key over the image's digest
//    (bundle: verify_bundle_with_key; legacy .sig layer: over the payload,
//    which must name the digest);
// 4. the identity: the OIDC issuer (Fulcio's extension) equals the rule's
//    issuer; `subject` equals one of the e-mail or URI SANs, or
//    `subjectRegex` finds a match in one.
// Not checked (see docs/signatures.md): RFC 3161 timestamps, so a signature
// whose only trusted time is a TSA's (Rekor v2) is refused.

#include <string>

#include "oci/digest.h"
#include "sigstore/image_rules.h"
#include "sigstore/image_signatures.h"
#include "sigstore/trusted_root.h"

namespace sbpipe {

// Whether `found` holds a keyless signature of `digest` by `identity`,
// judged against `root`, in the place Talos stopped: one bundle that
// verifies, or one legacy layer. The string says which one did;
// invalid_input gives the reason the last candidate failed.
Result<std::string> check_signatures_keyless(const FoundSignatures& found, const Digest& digest, const KeylessIdentity& identity,
                                             const TrustedRoot& root);

}  // namespace sbpipe
