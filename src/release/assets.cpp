#include "release/assets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "core/file.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "core/table.h"
#include "release/checksums.h"

namespace sbpipe {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

Status check_asset_name(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::usage, "asset name '" + std::string(name) + "': " + std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 255) return bad("longer than 255 characters");
  if (name.front() == '.' || name.back() == '.') return bad("starts or ends with '.', which GitHub rewrites");
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '+';
    if (!ok) return bad("holds a character GitHub would rewrite (allowed: letters, digits, . - _ +)");
  }
  return {};
}

std::string content_type_for(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".iso", "application/x-iso9660-image"},
      {".xz", "application/x-xz"},
      {".gz", "application/gzip"},
      {".zst", "application/zstd"},
      {".tar", "application/x-tar"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".efi", "application/efi"},
      {".raw", "application/octet-stream"},
  };
  for (const auto& [suffix, type] : kTypes)
    if (ends_with(name, suffix)) return std::string(type);
  return "application/octet-stream";
}

void DigestPair::update(std::span<const char> chunk) {
  m_sha256.update(chunk);
  m_sha512.update(chunk);
  m_size += chunk.size();
}

Digests DigestPair::finish() { return Digests{m_sha256.finish_hex(), m_sha512.finish_hex(), m_size}; }

Result<Digests> hash_source(ByteSource& source) {
  DigestPair digests;
  auto st = drain(source, [&](std::span<const char> chunk) -> Status {
    digests.update(chunk);
    return {};
  });
  if (!st) return fail(st.error());
  return digests.finish();
}

Result<std::vector<LocalAsset>> describe_files(const std::vector<std::filesystem::path>& paths, uint64_t max_size) {
  std::vector<NamedFile> files;
  for (const auto& p : paths) files.push_back(NamedFile{p, ""});
  return describe_files(files, max_size);
}

NamedFile parse_named_file(const std::string& argument) {
  std::error_code ec;
  auto eq = argument.rfind('=');
  if (eq == std::string::npos || std::filesystem::exists(argument, ec)) return NamedFile{argument, ""};
  return NamedFile{argument.substr(0, eq), argument.substr(eq + 1)};
}

Result<std::vector<LocalAsset>> describe_files(const std::vector<NamedFile>& files, uint64_t max_size) {
  std::vector<LocalAsset> assets;
  std::set<std::string> names;
  // Everything that can be told from names and sizes first, so that a bad
  // argument fails before minutes of hashing.
  for (const auto& [path, given] : files) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) return fail(ErrorKind::not_found, path.string() + ": no such file");
    if (!std::filesystem::is_regular_file(status)) return fail(ErrorKind::usage, path.string() + ": not a regular file");
    std::string name = given.empty() ? path.filename().string() : given;
    if (auto st = check_asset_name(name); !st) return fail(st.error().with_context(path.string()));
    if (is_checksum_file(name))
      return fail(ErrorKind::usage, path.string() + ": " + name + " is written by sbpipe; do not pass one");
    if (!names.insert(name).second)
      return fail(ErrorKind::usage, path.string() + ": another file has the same name '" + name + "'");
    uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) return fail(ErrorKind::io, path.string() + ": " + ec.message());
    if (size >= max_size)
      return fail(ErrorKind::usage, path.string() + ": " + format_bytes(size) + " is over the " + format_bytes(max_size) +
                                        " limit of a release asset");
    assets.push_back(LocalAsset{name, size, "", "", content_type_for(name), path.string(), file_opener(path)});
  }
  return assets;
}

LocalAsset memory_asset(std::string name, std::string content) {
  LocalAsset asset;
  asset.content_type = content_type_for(name);
  asset.name = std::move(name);
  asset.size = content.size();
  asset.sha256 = Sha256::hex_of(content);
  asset.sha512 = Sha512::hex_of(content);
  asset.origin = "(generated)";
  asset.open = memory_opener(std::move(content));
  return asset;
}

Status ensure_digests(LocalAsset& asset) {
  if (!asset.sha256.empty() && !asset.sha512.empty()) return {};
  auto source = asset.open();
  if (!source) return fail(source.error());
  auto hashed = hash_source(**source);
  if (!hashed) return fail(hashed.error().with_context(asset.origin));
  if (hashed->size != asset.size)
    return fail(ErrorKind::io, asset.origin + ": changed while being read (" + std::to_string(hashed->size) +
                                   " bytes, expected " + std::to_string(asset.size) + ")");
  if ((!asset.sha256.empty() && asset.sha256 != hashed->sha256) || (!asset.sha512.empty() && asset.sha512 != hashed->sha512))
    return fail(ErrorKind::io, asset.origin + ": changed while being published");
  asset.sha256 = hashed->sha256;
  asset.sha512 = hashed->sha512;
  return {};
}

namespace {

class HashingSource final : public ByteSource {
public:
  HashingSource(std::unique_ptr<ByteSource> inner, LocalAsset& asset) : m_inner(std::move(inner)), m_asset(asset) {}

  Result<size_t> read(std::span<char> buffer) override {
    auto n = m_inner->read(buffer);
    if (!n) return n;
    if (m_done) {
      if (*n != 0) return changed();  // longer than described
      return n;
    }
    m_digests.update(std::span<const char>(buffer.data(), *n));
    m_size += *n;
    if (m_size > m_asset.size || (*n == 0 && m_size < m_asset.size)) return changed();
    // Finished at the last expected byte: HTTP senders with a
    // Content-Length stop reading there and never see the end of stream.
    if (m_size == m_asset.size && !m_done) {
      m_done = true;
      Digests d = m_digests.finish();
      if ((!m_asset.sha256.empty() && m_asset.sha256 != d.sha256) || (!m_asset.sha512.empty() && m_asset.sha512 != d.sha512))
        return changed();
      m_asset.sha256 = d.sha256;
      m_asset.sha512 = d.sha512;
    }
    return n;
  }

private:
  std::unexpected<Error> changed() const { return fail(ErrorKind::io, m_asset.origin + ": changed while being published"); }
  std::unique_ptr<ByteSource> m_inner;
  LocalAsset& m_asset;
  DigestPair m_digests;
  uint64_t m_size = 0;
  bool m_done = false;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_hashing(LocalAsset& asset) {
  auto inner = asset.open();
  if (!inner) return fail(inner.error());
  return std::unique_ptr<ByteSource>(std::make_unique<HashingSource>(std::move(*inner), asset));
}

std::string_view outcome_name(AssetOutcome outcome) {
  switch (outcome) {
  case AssetOutcome::uploaded: return "uploaded";
  case AssetOutcome::replaced: return "replaced";
  case AssetOutcome::unchanged: return "unchanged";
  }
  return "?";
}

std::string report_table(const std::vector<AssetReport>& reports) {
  Table table({"ASSET", "RESULT", "SIZE", "SHA256"});
  table.set_min_width(1, 9);  // the widest result word, so tables of one run line up
  table.set_min_width(2, 10);
  std::map<AssetOutcome, int> counts;
  for (const auto& r : reports) {
    table.add_row({r.name, std::string(outcome_name(r.outcome)), format_bytes(r.size), r.sha256.substr(0, 16)});
    ++counts[r.outcome];
  }
  std::string out = table.render();
  out += std::to_string(counts[AssetOutcome::uploaded]) + " uploaded, " + std::to_string(counts[AssetOutcome::replaced]) +
         " replaced, " + std::to_string(counts[AssetOutcome::unchanged]) + " unchanged\n";
  return out;
}

nlohmann::json report_json(const std::vector<AssetReport>& reports) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : reports)
    out.push_back({{"name", r.name}, {"result", outcome_name(r.outcome)}, {"size", r.size}, {"sha256", r.sha256}});
  return out;
}

}  // namespace sbpipe
