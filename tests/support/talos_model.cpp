#include "support/talos_model.h"

#include <stdexcept>

#include "support/secureboot_fixtures.h"

namespace sbpipe::test {

const std::vector<TalosLine>& model_lines() {
  static const std::vector<TalosLine> lines{{"1.9", "v1.9.0"}, {"1.11", "v1.11.0"}, {"1.13", "v1.13.0"}, {"1.14", "v1.14.0"}};
  return lines;
}

void make_owner_keys(const fs::path& dir, const std::string& cn) {
  fs::create_directories(dir);
  must_run({"openssl", "genrsa", "-traditional", "-out", (dir / "uki-signing-key.pem").string(), "2048"});
  must_run({"openssl", "req", "-x509", "-key", (dir / "uki-signing-key.pem").string(), "-out",
            (dir / "uki-signing-cert.pem").string(), "-days", "30", "-subj", "/O=" + cn});
  must_run({"openssl", "genrsa", "-traditional", "-out", (dir / "pcr-signing-key.pem").string(), "2048"});
  // What `sbpipe keys check --write-public` writes beside them.
  must_run({"openssl", "rsa", "-in", (dir / "pcr-signing-key.pem").string(), "-pubout", "-out",
            (dir / "pcr-signing-key.pub.pem").string()});
}

std::map<std::string, std::string> model_env(const TalosLine& line, std::map<std::string, std::string> extra) {
  extra.emplace("STANDIN_TALOS", line.line);
  extra.emplace("STANDIN_VERSION", line.version);
  return extra;
}

RunResult try_model(const std::vector<std::string>& args, const fs::path& out, const fs::path& keys, const TalosLine& line,
                    const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{k_model};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--output", out.string(), "--keys", keys.string()});
  return run(argv, model_env(line, env));
}

void run_model(const std::vector<std::string>& args, const fs::path& out, const fs::path& keys, const TalosLine& line,
               const std::map<std::string, std::string>& env) {
  auto r = try_model(args, out, keys, line, env);
  if (r.exit_code != 0) throw std::runtime_error("standin-imager " + args.front() + " (" + line.line + "): " + r.err);
}

}  // namespace sbpipe::test
