#pragma once
// Hand-written fakes: an HTTP client that answers from a script and records
// every request, and a clock that moves only when told (or when slept on).

#include <deque>
#include <functional>

#include "core/clock.h"
#include "http/client.h"

namespace sbpipe::test {

class FakeClock final : public Clock {
public:
  std::chrono::steady_clock::time_point now() override { return m_now; }
  std::chrono::system_clock::time_point wall_now() override { return m_wall + (m_now - std::chrono::steady_clock::time_point{}); }
  void sleep_for(std::chrono::milliseconds d) override {
    slept.push_back(d);
    m_now += d;
  }
  void advance(std::chrono::seconds d) { m_now += d; }
  std::vector<std::chrono::milliseconds> slept;

private:
  std::chrono::steady_clock::time_point m_now{std::chrono::hours(1)};
  std::chrono::system_clock::time_point m_wall{std::chrono::seconds(1'700'000'000)};
};

struct RecordedRequest {
  std::string method;
  std::string url;
  Headers headers;
  std::string body;
};

class FakeHttp final : public HttpClient {
public:
  // Answers requests in order; each handler sees the request.
  std::deque<std::function<Result<HttpResponse>(const RecordedRequest&)>> script;
  std::vector<RecordedRequest> requests;

  Result<HttpResponse> send(const HttpRequest& request) override {
    RecordedRequest r{request.method, request.url, request.headers, {}};
    if (request.body != nullptr) {
      auto all = read_all(*request.body, 64 << 20);
      if (!all) return fail(all.error());
      r.body = *all;
    }
    requests.push_back(r);
    if (script.empty()) return fail(ErrorKind::permanent, "FakeHttp: unexpected " + request.method + " " + request.url);
    auto handler = script.front();
    script.pop_front();
    return handler(r);
  }

  void reply(long status, Headers headers = {}, std::string body = "") {
    script.push_back([=](const RecordedRequest&) -> Result<HttpResponse> { return HttpResponse{status, headers, body, ""}; });
  }
  void reply_error(ErrorKind kind) {
    script.push_back([=](const RecordedRequest&) -> Result<HttpResponse> { return fail(kind, "fake transport failure"); });
  }
};

}  // namespace sbpipe::test
