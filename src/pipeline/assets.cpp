#include "pipeline/assets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "core/file.h"
#include "core/progress.h"
#include "core/sha256.h"

namespace sbpipe {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_hex64(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

} // namespace

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

Result<std::pair<std::string, uint64_t>> hash_source(ByteSource& source) {
  Sha256 hash;
  uint64_t size = 0;
  auto st = drain(source, [&](std::span<const char> chunk) -> Status {
    hash.update(chunk);
    size += chunk.size();
    return {};
  });
  if (!st) return fail(st.error());
  return std::make_pair(hash.finish_hex(), size);
}

Result<std::vector<LocalAsset>> describe_files(const std::vector<std::filesystem::path>& paths, uint64_t max_size) {
  std::vector<LocalAsset> assets;
  std::set<std::string> names;
  // Everything that can be told from names and sizes first, so that a bad
  // argument fails before minutes of hashing.
  for (const auto& path : paths) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) return fail(ErrorKind::not_found, path.string() + ": no such file");
    if (!std::filesystem::is_regular_file(status)) return fail(ErrorKind::usage, path.string() + ": not a regular file");
    std::string name = path.filename().string();
    if (auto st = check_asset_name(name); !st) return fail(st.error().with_context(path.string()));
    if (name == kChecksumsName)
      return fail(ErrorKind::usage, path.string() + ": sha256sums.txt is written by sbpipe; do not pass one");
    if (!names.insert(name).second)
      return fail(ErrorKind::usage, path.string() + ": another file has the same name '" + name + "'");
    uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) return fail(ErrorKind::io, path.string() + ": " + ec.message());
    if (size >= max_size)
      return fail(ErrorKind::usage, path.string() + ": " + format_bytes(size) + " is over the " + format_bytes(max_size) +
                                        " limit of a release asset");
    assets.push_back(LocalAsset{name, size, "", content_type_for(name), path.string(), file_opener(path)});
  }
  return assets;
}

Status ensure_sha256(LocalAsset& asset) {
  if (!asset.sha256.empty()) return {};
  auto source = asset.open();
  if (!source) return fail(source.error());
  auto hashed = hash_source(**source);
  if (!hashed) return fail(hashed.error().with_context(asset.origin));
  if (hashed->second != asset.size)
    return fail(ErrorKind::io, asset.origin + ": changed while being read (" + std::to_string(hashed->second) +
                                   " bytes, expected " + std::to_string(asset.size) + ")");
  asset.sha256 = hashed->first;
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
    m_hash.update(std::span<const char>(buffer.data(), *n));
    m_size += *n;
    if (m_size > m_asset.size || (*n == 0 && m_size < m_asset.size)) return changed();
    // Finished at the last expected byte: HTTP senders with a
    // Content-Length stop reading there and never see the end of stream.
    if (m_size == m_asset.size && !m_done) {
      m_done = true;
      std::string hex = m_hash.finish_hex();
      if (!m_asset.sha256.empty() && m_asset.sha256 != hex) return changed();
      m_asset.sha256 = hex;
    }
    return n;
  }

private:
  std::unexpected<Error> changed() const {
    return fail(ErrorKind::io, m_asset.origin + ": changed while being published");
  }
  std::unique_ptr<ByteSource> m_inner;
  LocalAsset& m_asset;
  Sha256 m_hash;
  uint64_t m_size = 0;
  bool m_done = false;
};

} // namespace

Result<std::unique_ptr<ByteSource>> open_hashing(LocalAsset& asset) {
  auto inner = asset.open();
  if (!inner) return fail(inner.error());
  return std::unique_ptr<ByteSource>(std::make_unique<HashingSource>(std::move(*inner), asset));
}

std::string sha256sums_text(const std::vector<LocalAsset>& assets) {
  std::map<std::string, std::string> sorted;
  for (const auto& asset : assets) sorted[asset.name] = asset.sha256;
  std::string text;
  for (const auto& [name, hex] : sorted) text += hex + "  " + name + "\n";
  return text;
}

LocalAsset checksums_asset(const std::vector<LocalAsset>& assets) {
  std::string text = sha256sums_text(assets);
  LocalAsset asset;
  asset.name = std::string(kChecksumsName);
  asset.size = text.size();
  asset.sha256 = Sha256::hex_of(text);
  asset.content_type = content_type_for(asset.name);
  asset.origin = "(generated)";
  asset.open = memory_opener(std::move(text));
  return asset;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_sha256sums(std::string_view text, std::string_view label) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::set<std::string> seen;
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto bad = [&](std::string_view why) {
      return fail(ErrorKind::invalid_input,
                  std::string(label) + " line " + std::to_string(line_no) + ": " + std::string(why));
    };
    // "<hex>  <name>" (text mode) or "<hex> *<name>" (binary mode).
    if (line.size() < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*'))
      return bad("expected '<sha256>  <name>'");
    std::string hex(line.substr(0, 64));
    std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!is_hex64(hex)) return bad("not a sha256 hex digest");
    std::string name(line.substr(66));
    if (!seen.insert(name).second) return bad("'" + name + "' is listed twice");
    entries.emplace_back(name, hex);
  }
  return entries;
}

Status check_listed_assets(const std::vector<std::pair<std::string, std::string>>& listed,
                           const PublishedDigest& published, std::string_view what) {
  if (listed.empty()) return fail(ErrorKind::invalid_input, std::string(what) + ": sha256sums.txt lists no asset");
  std::string problems;
  for (const auto& [name, hex] : listed) {
    std::string problem;
    auto actual = published(name);
    if (!actual) {
      if (actual.error().kind() != ErrorKind::not_found && actual.error().kind() != ErrorKind::invalid_input)
        return fail(actual.error());
      problem = actual.error().message();
    } else if (*actual != hex) {
      problem = name + " has sha256 " + actual->substr(0, 16) + "..., sha256sums.txt says " + hex.substr(0, 16) + "...";
    }
    if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
  }
  if (!problems.empty())
    return fail(ErrorKind::invalid_input, std::string(what) + " is not complete: " + problems + "; release left as it was");
  return {};
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
  size_t width = 5;
  for (const auto& r : reports) width = std::max(width, r.name.size());
  auto pad = [](std::string text, size_t n) {
    if (text.size() < n) text.append(n - text.size(), ' ');
    return text;
  };
  std::string out = pad("ASSET", width) + "  " + pad("RESULT", 9) + "  " + pad("SIZE", 10) + "  SHA256\n";
  std::map<AssetOutcome, int> counts;
  for (const auto& r : reports) {
    out += pad(r.name, width) + "  " + pad(std::string(outcome_name(r.outcome)), 9) + "  " + pad(format_bytes(r.size), 10) +
           "  " + r.sha256.substr(0, 16) + "\n";
    ++counts[r.outcome];
  }
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

} // namespace sbpipe
