#include "pipeline/slsa_provenance.h"

#include "core/build_info.h"
#include "oci/reference.h"

namespace sbpipe {

Result<nlohmann::json> slsa_predicate(const ProvenanceFacts& facts) {
  nlohmann::json dependencies = nlohmann::json::array();
  for (const auto& input : facts.inputs) {
    auto ref = ImageRef::parse(input.ref, input.role);
    if (!ref) return fail(ErrorKind::invalid_input, ref.error().message());
    if (ref->digest.empty())
      return fail(ErrorKind::invalid_input, input.role + " " + input.ref + ": not pinned to a digest; provenance names digests");
    dependencies.push_back({{"name", input.role},
                            {"uri", "oci://" + ref->registry + "/" + ref->repository + (ref->tag.empty() ? "" : ":" + ref->tag)},
                            {"digest", {{"sha256", ref->digest.substr(7)}}}});
  }
  nlohmann::json external{{"version", facts.version}, {"kernelArgs", facts.kernel_args}};
  if (!facts.release.empty()) external["release"] = facts.release;
  nlohmann::json internal = nlohmann::json::object();
  if (!facts.uki_certificate_sha256.empty()) internal["ukiSigningCertificateSha256"] = facts.uki_certificate_sha256;
  if (!facts.pcr_public_key_sha256.empty()) internal["pcrPublicKeySha256"] = facts.pcr_public_key_sha256;
  if (!facts.source_commit.empty()) internal["sourceCommit"] = facts.source_commit;
  const BuildInfo& sbpipe = build_info();
  return nlohmann::json{
      {"buildDefinition",
       {{"buildType", k_sbpipe_build_type},
        {"externalParameters", external},
        {"internalParameters", internal},
        {"resolvedDependencies", dependencies}}},
      {"runDetails",
       {{"builder",
         {{"id", "https://github.com/sbpipe/sbpipe"}, {"version", {{"sbpipe", sbpipe.version}, {"commit", sbpipe.commit}}}}},
        {"metadata", nlohmann::json::object()}}}};
}

void add_plan_facts(const Plan& plan, ProvenanceFacts& facts) {
  if (facts.version.empty()) facts.version = plan.version;
  facts.inputs.insert(facts.inputs.end(), plan.inputs.begin(), plan.inputs.end());
  for (const auto& inv : plan.invocations) {
    if (inv.kind != OutputKind::installer || !inv.secureboot) continue;
    for (size_t i = 0; i + 1 < inv.args.size(); ++i)
      if (inv.args[i] == "--extra-kernel-arg") facts.kernel_args.push_back(inv.args[i + 1]);
    break;
  }
}

}  // namespace sbpipe
