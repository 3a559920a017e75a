#include "pipeline/provenance.h"

#include <git2.h>

#include <memory>

namespace sbpipe {
namespace {

template <typename T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* p) const { Free(p); }
};
using RepoPtr = std::unique_ptr<git_repository, GitDeleter<git_repository, git_repository_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, git_object_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, git_remote_free>>;
using StatusPtr = std::unique_ptr<git_status_list, GitDeleter<git_status_list, git_status_list_free>>;

std::string last_git_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

struct GitLibrary {
  GitLibrary() { git_libgit2_init(); }
  ~GitLibrary() { git_libgit2_shutdown(); }
};

Result<std::string> commit_of(git_repository* repo, const std::string& spec) {
  git_object* raw = nullptr;
  if (git_revparse_single(&raw, repo, spec.c_str()) != 0) return fail(ErrorKind::not_found, last_git_error());
  ObjectPtr object(raw);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0) return fail(ErrorKind::invalid_input, last_git_error());
  ObjectPtr commit(peeled);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, git_object_id(commit.get()));
  return std::string(hex);
}

}  // namespace

std::string public_source_url(std::string_view url) {
  std::string u(url);
  std::string host_path;
  if (auto scheme = u.find("://"); scheme != std::string::npos) {
    host_path = u.substr(scheme + 3);
    if (auto at = host_path.find('@'); at != std::string::npos && at < host_path.find('/')) host_path = host_path.substr(at + 1);
    // ssh://git@host:22/o/r: drop the port, which is the SSH one
    if (u.compare(0, 6, "ssh://") == 0) {
      auto colon = host_path.find(':');
      auto slash = host_path.find('/');
      if (colon != std::string::npos && colon < slash) host_path.erase(colon, slash - colon);
    }
  } else if (auto colon = u.find(':'); colon != std::string::npos && u.find('/') > colon) {
    host_path = u.substr(0, colon) + "/" + u.substr(colon + 1);  // scp-like git@host:o/r
    if (auto at = host_path.find('@'); at != std::string::npos && at < host_path.find('/')) host_path = host_path.substr(at + 1);
  } else {
    return "";  // a local path says nothing to a reader of the release
  }
  if (host_path.size() > 4 && host_path.compare(host_path.size() - 4, 4, ".git") == 0) host_path.resize(host_path.size() - 4);
  while (!host_path.empty() && host_path.back() == '/') host_path.pop_back();
  return host_path.empty() ? "" : "https://" + host_path;
}

Result<Provenance> read_provenance(const std::filesystem::path& dir, const std::string& tag) {
  GitLibrary library;
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, dir.c_str(), 0, nullptr) != 0)
    return fail(ErrorKind::config, "--source " + dir.string() + ": not a git repository (" + last_git_error() + ")");
  RepoPtr repo(raw);
  Provenance p;
  auto commit = commit_of(repo.get(), "refs/tags/" + tag);
  if (!commit) {
    if (commit.error().kind() == ErrorKind::not_found)
      return fail(ErrorKind::not_found, "--source " + dir.string() + ": tag " + tag + " does not exist in the repository");
    return fail(commit.error().with_context("--source " + dir.string() + ": tag " + tag));
  }
  p.commit = *commit;

  git_remote* remote_raw = nullptr;
  if (git_remote_lookup(&remote_raw, repo.get(), "origin") == 0) {
    RemotePtr remote(remote_raw);
    if (const char* url = git_remote_url(remote.get())) p.source_url = public_source_url(url);
  }

  if (git_repository_is_bare(repo.get())) return p;
  auto head = commit_of(repo.get(), "HEAD");
  if (!head) {
    p.tree_differs = "HEAD names no commit";
  } else if (*head != p.commit) {
    p.tree_differs = "HEAD is " + head->substr(0, 12) + ", not the tag's " + p.commit.substr(0, 12);
  } else {
    git_status_options options = GIT_STATUS_OPTIONS_INIT;
    options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    options.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;  // tracked files only: build outputs do not count
    git_status_list* list = nullptr;
    if (git_status_list_new(&list, repo.get(), &options) == 0) {
      StatusPtr status(list);
      size_t changed = git_status_list_entrycount(status.get());
      if (changed > 0) p.tree_differs = std::to_string(changed) + " tracked file(s) changed since the tag";
    }
  }
  return p;
}

nlohmann::json provenance_json(const Provenance& provenance) {
  return {{"commit", provenance.commit}, {"url", provenance.source_url}};
}

Result<Provenance> provenance_from_json(const nlohmann::json& entry, std::string_view where) {
  auto text = [&](const char* key) -> Result<std::string> {
    if (!entry.is_object() || !entry.contains(key) || !entry[key].is_string())
      return fail(ErrorKind::invalid_input, std::string(where) + ": provenance has no string " + key);
    return entry[key].get<std::string>();
  };
  auto commit = text("commit");
  if (!commit) return fail(commit.error());
  auto url = text("url");
  if (!url) return fail(url.error());
  return Provenance{*commit, *url, ""};
}

}  // namespace sbpipe
