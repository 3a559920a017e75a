#include "pipeline/steps.h"

#include <algorithm>

#include "core/clock.h"
#include "core/file.h"
#include "core/table.h"
#include "core/temp_dir.h"
#include "oci/credentials.h"
#include "oci/layer_codec.h"
#include "oci/pusher.h"
#include "oci/session.h"
#include "secureboot/efi_inputs.h"
#include "secureboot/enrolment_mode.h"
#include "secureboot/talos_version.h"
#include "secureboot/x509.h"
#include "sigstore/image_signatures.h"
#include "sigstore/input_verification.h"
#include "sigstore/intoto.h"
#include "sigstore/keys.h"

namespace sbpipe {
namespace {

Result<Annotations> parse_annotations(const std::vector<std::string>& items) {
  Annotations out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return fail(ErrorKind::usage, "--annotation '" + item + "': expected KEY=VALUE");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

// A PEM file meant to hold public material only; one holding a private key
// is refused unparsed: verify never handles private keys.
Result<std::string> read_public_pem(const std::string& path, const std::string& flag) {
  auto text = read_small_file(path);
  if (!text) return fail(ErrorKind::usage, flag + " " + path + ": " + text.error().message());
  if (holds_private_key(*text))
    return fail(ErrorKind::usage, flag + " " + path + ": holds a private key; pass the public certificate or key only");
  return text;
}

// Talos 1.8/1.9 installer configs name no os or architecture (imager builds
// them on go-containerregistry's empty.Image): the platform comes from the
// flag or the image's own usr/install/<arch>/, and the pushed document says
// which.
Status fill_platforms(std::vector<LocalImage>& images, const std::string& arch, Annotations& annotations) {
  std::vector<std::string> notes;
  for (auto& image : images) {
    if (image.platform.known()) continue;
    std::string source = "--arch";
    std::string found = arch;
    if (found.empty()) {
      auto detected = installer_arch(image);
      if (!detected) return fail(detected.error());
      found = *detected;
      source = "usr/install/" + found + "/";
    }
    image.platform.os = "linux";
    image.platform.architecture = found;
    notes.push_back(image.platform.str() + " from " + source + " (the image config names none)");
  }
  if (!notes.empty()) {
    std::string text;
    for (const auto& n : notes) text += (text.empty() ? "" : "; ") + n;
    annotations["dev.sbpipe.platform"] = text;
  }
  return {};
}

}  // namespace

Result<Credentials> registry_credentials(const std::string& registry, const RegistryAccess& access) {
  CredentialSources sources{access.username, std::nullopt, process_getenv, access.authfile};
  if (access.password_file) sources.password_file = *access.password_file;
  return resolve_credentials(registry, sources);
}

SessionOptions session_options(const RegistryAccess& access) {
  return SessionOptions{access.plain_http, access.ca_file, access.retry, access.insecure};
}

Result<PushedInstaller> push_installer(const InstallerPush& request, Clock& clock) {
  auto target = Reference::parse(request.ref);
  if (!target) return fail(target.error());
  auto compression = parse_encoding(request.compression);
  if (!compression) return fail(compression.error());
  auto annotations = parse_annotations(request.annotations);
  if (!annotations) return fail(annotations.error());
  for (const auto& repo : request.mount_from)
    if (!is_valid_repository(repo)) return fail(ErrorKind::usage, "--mount-from '" + repo + "': not a repository name");
  std::optional<SigningKey> key;
  if (!request.sign_key.empty()) {
    auto loaded = SigningKey::load(request.sign_key, request.sign_key_setting);
    if (!loaded) return fail(loaded.error());
    key = std::move(*loaded);
  }
  std::optional<nlohmann::json> predicate;
  if (request.provenance) {
    if (!key)
      return fail(ErrorKind::usage, "provenance is signed with the signing key: give " + request.sign_key_setting + " too");
    auto made = slsa_predicate(*request.provenance);
    if (!made) return fail(made.error());
    predicate = std::move(*made);
  }
  auto credentials = registry_credentials(target->registry, request.registry);
  if (!credentials) return fail(credentials.error());

  // Every input is read and checked before anything is sent.
  std::vector<LocalImage> images;
  for (const auto& input : request.inputs) {
    auto loaded = load_images(input, LoadOptions{*compression});
    if (!loaded) return fail(loaded.error());
    for (auto& image : *loaded) images.push_back(std::move(image));
  }
  if (auto st = fill_platforms(images, request.arch, *annotations); !st) return fail(st.error());

  std::vector<std::string> scopes{"repository:" + target->repository + ":pull,push"};
  for (const auto& repo : request.mount_from) scopes.push_back("repository:" + repo + ":pull");
  SessionOptions options_for_sessions = session_options(request.registry);
  SessionFactory sessions = [&]() {
    return open_registry_session(target->api_host(), target->repository, *credentials, scopes, options_for_sessions);
  };
  const std::string repository = target->registry + "/" + target->repository;
  auto main_session = sessions();
  if (!main_session) return fail(with_registry_auth_hint(main_session.error(), repository));
  PushOptions options{*target, *annotations, request.mount_from, request.compression_level, request.registry.retry, request.jobs,
                      {}};
  if (key) {
    options.before_tags = [&key, &repository, &predicate](Registry& registry,
                                                          const std::vector<Descriptor>& documents) -> Status {
      for (const auto& document : documents)
        if (auto attached = attach_image_signatures(registry, repository, document, *key); !attached)
          return fail(attached.error().with_context("signing " + repository + "@" + document.digest.str()));
      if (!predicate) return {};
      const Descriptor& top = documents.front();
      std::string statement =
          statement_json({StatementSubject{repository, top.digest.hex}}, k_slsa_provenance_predicate, *predicate);
      auto bundle = sign_dsse(*key, k_intoto_payload_type, statement);
      if (!bundle) return fail(bundle.error());
      auto attached = attach_image_attestation(registry, top, *bundle, k_slsa_provenance_predicate, key->public_key());
      if (!attached)
        return fail(attached.error().with_context("attaching the provenance to " + repository + "@" + top.digest.str()));
      return {};
    };
  }
  auto pushed = push_images(*main_session->registry, clock, images, options, sessions);
  if (!pushed) return fail(with_registry_auth_hint(pushed.error(), repository));
  return PushedInstaller{target->name(), pushed->digest.str(), pushed->changed, key ? key->public_key().fingerprint() : ""};
}

Result<VerifyOptions> verify_options(const VerifyRequest& request) {
  VerifyOptions options;
  // The db: --db FILE (db.auth, .esl or PEM), or --cert as a db of its certificates; none
  // for an ISO that carries its own.
  auto read_db = [](const std::string& file, const std::string& setting) -> Result<SignatureDatabase> {
    auto text = read_public_pem(file, setting);
    if (!text) return fail(text.error());
    auto db = parse_signature_database(*text, setting + " " + file);
    if (!db) return fail(ErrorKind::usage, db.error().message());
    return db;
  };
  if (!request.cert_file.empty() && !request.db_file.empty())
    return fail(ErrorKind::usage, request.cert_setting + " and " + request.db_setting + " both name the db; give one");
  if (!request.cert_file.empty() || !request.db_file.empty()) {
    bool cert = !request.cert_file.empty();
    auto db = read_db(cert ? request.cert_file : request.db_file, cert ? request.cert_setting : request.db_setting);
    if (!db) return fail(db.error());
    options.db = std::move(*db);
  }
  if (!request.dbx_file.empty()) {
    auto dbx = read_db(request.dbx_file, request.dbx_setting);
    if (!dbx) return fail(dbx.error());
    options.dbx = std::move(*dbx);
  }
  if (!request.require_cmdline.empty()) options.require_cmdline = request.require_cmdline;
  if (!request.forbid_cmdline.empty()) options.forbid_cmdline = request.forbid_cmdline;
  if (!request.pcr_pubkey_file.empty()) {
    auto key = read_public_pem(request.pcr_pubkey_file, request.pcr_pubkey_setting);
    if (!key) return fail(key.error());
    options.pcr_public_key = *key;
  }
  return options;
}

Result<std::vector<Verdict>> verify_inputs(const std::vector<std::string>& paths, const VerifyOptions& options) {
  auto scratch = ScratchDir::create("sbpipe-verify");
  if (!scratch) return fail(scratch.error());
  auto binaries = find_efi_binaries(paths, scratch->path());
  if (!binaries) return fail(binaries.error());
  return verify_binaries(*binaries, options);
}

Result<std::vector<Verdict>> verify_build(const std::vector<std::string>& paths, const VerifyRequest& request) {
  auto options = verify_options(request);
  if (!options) return fail(options.error());
  auto verdicts = verify_inputs(paths, *options);
  if (!verdicts) return fail(verdicts.error());
  if (!request.talos_version.empty()) verdicts->push_back(talos_version_verdict(*verdicts, request.talos_version));
  auto enrolment = enrolment_verdicts(paths);
  if (!enrolment) return fail(enrolment.error());
  verdicts->insert(verdicts->end(), enrolment->begin(), enrolment->end());
  return verdicts;
}

std::string verdicts_text(const std::vector<Verdict>& verdicts) {
  Table table;
  table.set_min_width(1, 11);  // the role column lines up across runs
  table.set_min_width(2, 4);
  for (const auto& v : verdicts) table.add_row({v.path, v.role, v.ok ? "ok" : "FAIL", v.reason});
  return table.render();
}

nlohmann::json verdicts_json(const std::vector<Verdict>& verdicts) {
  nlohmann::json out{{"ok", std::all_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.ok; })},
                     {"binaries", nlohmann::json::array()}};
  for (const auto& v : verdicts) {
    nlohmann::json j{{"path", v.path},
                     {"role", v.role},
                     {"ok", v.ok},
                     {"expected", v.expected},
                     {"reason", v.reason},
                     {"machine", v.machine},
                     {"authenticode_sha256", v.sha256},
                     {"signer", v.signer},
                     {"pcrsig", v.has_pcrsig},
                     {"pcrpkey", v.has_pcrpkey}};
    j["signature"] = {{"ok", v.signature_ok}, {"reason", v.signature_reason}};  // the firmware's verdict
    j["policy"] = v.policy;                                                     // sbpipe's own checks
    j["cmdline"] = v.cmdline ? nlohmann::json(*v.cmdline) : nlohmann::json();
    j["os_version"] = v.os_version ? nlohmann::json(*v.os_version) : nlohmann::json();
    if (!v.profiles.empty()) {
      j["profiles"] = nlohmann::json::array();
      for (const auto& p : v.profiles) {
        nlohmann::json predicted = nlohmann::json::object();
        for (const auto& b : p.pcr11.predicted)
          predicted[b.bank] = {
              {"enter-initrd", b.enter_initrd}, {"leave-initrd", b.leave_initrd}, {"enter-machined", b.enter_machined}};
        j["profiles"].push_back(
            {{"id", p.id},
             {"cmdline", p.cmdline},
             {"pcr11",
              {{"ok", p.pcr11.ok}, {"problems", p.pcr11.problems}, {"banks", p.pcr11.banks}, {"predicted", predicted}}}});
      }
    }
    out["binaries"].push_back(std::move(j));
  }
  return out;
}

Status verdicts_status(const std::vector<Verdict>& verdicts) {
  size_t failed = std::count_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return !v.ok; });
  if (failed == 0) return {};
  return fail(ErrorKind::invalid_input,
              std::to_string(failed) + " of " + std::to_string(verdicts.size()) + " EFI binaries failed verification");
}

Status check_installer_ref(const std::string& ref_text, const std::string& flag) {
  auto ref = ImageRef::parse(ref_text, flag);
  if (!ref) return fail(ref.error());
  if (ref->digest.empty()) return fail(ErrorKind::usage, flag + " '" + ref_text + "': expected REGISTRY/REPO[:TAG]@sha256:<hex>");
  return {};
}

Status check_installer(const std::string& ref_text, const RegistryAccess& access) {
  auto ref = ImageRef::parse(ref_text, "installer reference");
  if (!ref) return fail(ErrorKind::invalid_input, ref.error().message());
  if (ref->digest.empty()) return fail(ErrorKind::invalid_input, "installer reference '" + ref_text + "' names no digest");
  auto credentials = registry_credentials(ref->registry, access);
  if (!credentials) return fail(credentials.error());
  SessionOptions options = session_options(access);
  auto by_digest = head_image_manifest(*ref, ref->digest, *credentials, options);
  if (!by_digest) return fail(by_digest.error());
  if (by_digest->str() != ref->digest)
    return fail(ErrorKind::invalid_input, "registry answered " + by_digest->str() + " for " + ref->digest);
  if (!ref->tag.empty()) {
    auto by_tag = head_image_manifest(*ref, ref->tag, *credentials, options);
    if (!by_tag) return fail(by_tag.error());
    if (by_tag->str() != ref->digest)
      return fail(ErrorKind::invalid_input, "tag " + ref->tag + " of " + ref->registry + "/" + ref->repository +
                                                " now points at " + by_tag->str() + ", not " + ref->digest);
  }
  return {};
}

Status check_installer_signed(const std::string& ref_text, const RegistryAccess& access, const std::string& public_key_file,
                              const std::string& key_setting) {
  auto key = PublicKey::load(public_key_file, key_setting);
  if (!key) return fail(key.error());
  return check_installer_signed(ref_text, access, *key, key_setting + " " + public_key_file);
}

Status check_installer_signed(const std::string& ref_text, const RegistryAccess& access, const PublicKey& key,
                              const std::string& key_name) {
  auto ref = ImageRef::parse(ref_text, "installer reference");
  if (!ref) return fail(ErrorKind::invalid_input, ref.error().message());
  auto digest = Digest::parse(ref->digest);
  if (!digest) return fail(ErrorKind::invalid_input, "installer reference '" + ref_text + "' names no digest");
  auto credentials = registry_credentials(ref->registry, access);
  if (!credentials) return fail(credentials.error());
  auto session = open_registry_session(ref->api_host(), ref->repository, *credentials,
                                       {"repository:" + ref->repository + ":pull"}, session_options(access));
  if (!session) return fail(session.error());
  std::vector<Digest> digests{*digest};
  auto top = session->registry->get_manifest(digest->str());
  if (!top) return fail(top.error());
  if (*top) {
    auto doc = nlohmann::json::parse((*top)->body, nullptr, false);
    if (doc.is_object() && doc.contains("manifests") && doc["manifests"].is_array())
      for (const auto& m : doc["manifests"])
        if (m.is_object() && m.contains("digest") && m["digest"].is_string())
          if (auto d = Digest::parse(m["digest"].get<std::string>())) digests.push_back(*d);
  }
  const std::string repository = ref->registry + "/" + ref->repository;
  for (const auto& d : digests) {
    auto found = read_image_signatures(*session->registry, d);
    if (!found) return fail(found.error().with_context(repository + "@" + d.str()));
    if (auto ok = check_signatures_with_key(*found, d, key); !ok)
      return fail(ErrorKind::invalid_input,
                  repository + "@" + d.str() + " is not signed by " + key_name + ": " + ok.error().message());
  }
  return {};
}

Error with_registry_auth_hint(Error error, const std::string& repository) {
  if (error.kind() != ErrorKind::auth) return error;
  return Error(ErrorKind::auth, error.message() +
                                    "; the credentials come from --username/--password-file (run: registry_username and "
                                    "registry_password_file), else SBPIPE_REGISTRY_USERNAME/SBPIPE_REGISTRY_PASSWORD, else "
                                    "docker's config.json (--log-level debug names which was used); pushing to " +
                                    repository + " needs write access to it (GHCR: a token with write:packages)");
}

Status check_push_access(const std::string& ref_text, const RegistryAccess& access) {
  auto target = Reference::parse(ref_text);
  if (!target) return fail(target.error());
  auto credentials = registry_credentials(target->registry, access);
  if (!credentials) return fail(credentials.error());
  SessionOptions options{access.plain_http, access.ca_file, access.retry, access.insecure};
  auto session = open_registry_session(target->api_host(), target->repository, *credentials,
                                       {"repository:" + target->repository + ":pull,push"}, options);
  const std::string repository = target->registry + "/" + target->repository;
  if (!session) return fail(with_registry_auth_hint(session.error(), repository));
  if (auto st = session->registry->check_push(); !st) return fail(with_registry_auth_hint(st.error(), repository));
  return {};
}

Result<std::string> resolve_image_digest(const ImageRef& ref, const RegistryAccess& access) {
  auto credentials = registry_credentials(ref.registry, access);
  if (!credentials) return fail(credentials.error());
  auto digest = head_image_manifest(ref, ref.tag, *credentials, session_options(access));
  if (!digest) return fail(digest.error());
  return digest->str();
}

Status check_plan_inputs(const Plan& plan, const ImageVerificationRules& rules, const RegistryAccess& access) {
  std::vector<InputImage> inputs;
  for (const auto& input : plan.inputs) {
    auto ref = ImageRef::parse(input.ref, input.role);
    if (!ref) return fail(ref.error());
    inputs.push_back(InputImage{input.role, *ref});
  }
  RegistryOpener open = [&access](const ImageRef& ref) -> Result<RegistrySession> {
    auto credentials = registry_credentials(ref.registry, access);
    if (!credentials) return fail(credentials.error());
    return open_registry_session(ref.api_host(), ref.repository, *credentials, {"repository:" + ref.repository + ":pull"},
                                 session_options(access));
  };
  auto verdicts = verify_input_images(inputs, rules, open);
  if (!verdicts) return fail(verdicts.error());
  return {};
}

ReleaseFacts release_facts(const std::string& version, const std::string& installer_ref, const PlanConfig* config) {
  ReleaseFacts facts;
  facts.version = version;
  facts.installer_ref = installer_ref;
  if (config) {
    facts.extensions = config->system_extensions;
    facts.kernel_args = config->secureboot_kernel_args;
    facts.kernel_args.insert(facts.kernel_args.end(), config->extra_kernel_args.begin(), config->extra_kernel_args.end());
  }
  return facts;
}

}  // namespace sbpipe
