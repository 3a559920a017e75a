#pragma once
// The GitHub stand-in's state and helpers, shared by github_standin.cpp (the
// object, its JSON and the checks every request passes) and
// github_standin_routes.cpp (one function per route).

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "support/github_standin.h"
#include "support/process.h"

namespace sbpipe::test {

struct GitHubStandIn::Impl {
  std::string token;
  TempDir storage;
  httplib::Server api;
  httplib::Server uploads;
  int api_port = 0;
  int upload_port = 0;
  std::thread api_thread;
  std::thread upload_thread;

  std::mutex mutex;
  std::map<int64_t, StandInRelease> releases;
  std::map<std::string, int64_t> latest;
  int64_t next_id = 1000;
  StandInFaults faults;
  std::vector<std::string> log;
  int leaked_authorizations = 0;
  int remaining = 5000;

  std::string upload_base() const { return "http://127.0.0.1:" + std::to_string(upload_port); }
  std::string api_base() const { return "http://127.0.0.1:" + std::to_string(api_port); }

  nlohmann::json asset_json(const StandInRelease& release, const StandInAsset& a) const;
  nlohmann::json release_json(const StandInRelease& r) const;
  StandInRelease* find_release(const std::string& repo, int64_t id);
  std::pair<StandInRelease*, StandInAsset*> find_asset(const std::string& repo, int64_t id);

  // Authorization, User-Agent, API version, rate limits and logging, for
  // every API and upload request. Returns false when the request was
  // answered here.
  bool admit(const httplib::Request& req, httplib::Response& res, const std::string& entry);
  // "name" of the asset a request names by id, or "#id" when unknown.
  std::string asset_label(const httplib::Request& req);
  void page(const httplib::Request& req, httplib::Response& res, const nlohmann::json& all, const std::string& path);

  void routes();
  void get_repo(const httplib::Request& req, httplib::Response& res);
  void get_release(const httplib::Request& req, httplib::Response& res);
  void get_release_by_tag(const httplib::Request& req, httplib::Response& res);
  void list_releases(const httplib::Request& req, httplib::Response& res);
  void list_assets(const httplib::Request& req, httplib::Response& res);
  void get_asset(const httplib::Request& req, httplib::Response& res);
  void rename_asset(const httplib::Request& req, httplib::Response& res);
  void delete_asset(const httplib::Request& req, httplib::Response& res);
  void update_release(const httplib::Request& req, httplib::Response& res);
  void upload(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void storage_get(const httplib::Request& req, httplib::Response& res);
};

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void not_found(httplib::Response& res);
void validation_failed(httplib::Response& res, const std::string& resource, const std::string& code, const std::string& field);
// 422 with only a message, as GitHub answers immutable-release refusals.
void unprocessable(httplib::Response& res, const std::string& message);
std::string sha256_of_bytes(const unsigned char* digest, size_t n);

}  // namespace sbpipe::test
