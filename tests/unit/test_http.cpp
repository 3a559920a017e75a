#include <doctest/doctest.h>

#include <random>

#include "http/client.h"
#include "http/retry.h"
#include "http/url.h"

using namespace sbpipe;
using namespace std::chrono_literals;

TEST_SUITE("unit") {

TEST_CASE("resolve_url follows RFC 3986 for the Locations registries send") {
  std::string base = "https://ghcr.io/v2/o/r/blobs/uploads/";
  CHECK(resolve_url(base, "https://up.example/x?y=1") == "https://up.example/x?y=1");
  CHECK(resolve_url(base, "/v2/o/r/blobs/uploads/abc?_state=z") == "https://ghcr.io/v2/o/r/blobs/uploads/abc?_state=z");
  CHECK(resolve_url(base, "//cdn.example/p") == "https://cdn.example/p");
  CHECK(resolve_url(base, "abc") == "https://ghcr.io/v2/o/r/blobs/uploads/abc");
  CHECK(resolve_url("http://127.0.0.1:5000/v2/?q=/x", "u") == "http://127.0.0.1:5000/v2/u");
  CHECK(url_origin("http://127.0.0.1:5000/v2/x") == "http://127.0.0.1:5000");
}

TEST_CASE("add_query and percent_encode") {
  CHECK(add_query("http://h/p", "digest", "sha256:ab") == "http://h/p?digest=sha256%3Aab");
  CHECK(add_query("http://h/p?_state=x", "digest", "sha256:ab") == "http://h/p?_state=x&digest=sha256%3Aab");
  CHECK(percent_encode("repository:o/r:pull,push") == "repository%3Ao%2Fr%3Apull%2Cpush");
}

TEST_CASE("find_header is case-insensitive") {
  Headers h{{"docker-content-digest", "sha256:x"}, {"Location", "/a"}};
  CHECK(find_header(h, "Docker-Content-Digest") == std::optional<std::string>("sha256:x"));
  CHECK(find_header(h, "location") == std::optional<std::string>("/a"));
  CHECK(find_header(h, "Range") == std::nullopt);
}

TEST_CASE("retry policy") {
  CHECK(is_retryable_status(429));
  CHECK(is_retryable_status(408));
  CHECK(is_retryable_status(503));
  CHECK(!is_retryable_status(404));
  CHECK(!is_retryable_status(401));

  RetryPolicy p{6, 100ms, 1000ms};
  std::mt19937 rng(1);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto expected = std::min<long long>(100LL << (attempt - 1), 1000);
    auto d = backoff_delay(p, attempt, rng).count();
    CHECK(d >= expected / 2);
    CHECK(d <= expected);
  }

  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  CHECK(parse_retry_after("120", now) == std::optional(std::chrono::milliseconds(120000)));
  CHECK(parse_retry_after(" 0 ", now) == std::optional(std::chrono::milliseconds(0)));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) == std::optional(std::chrono::milliseconds(30000)));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == std::optional(std::chrono::milliseconds(0)));
  CHECK(parse_retry_after("soon", now) == std::nullopt);
  CHECK(parse_retry_after("-5", now) == std::nullopt);
}

TEST_CASE("retry_note says which attempt failed, of how many, and the wait") {
  CHECK(retry_note(1, 5, 480ms) == "attempt 1 of 5 failed; retrying in 480 ms");
  CHECK(retry_note(4, 5, 2500ms) == "attempt 4 of 5 failed; retrying in 2.5 s");
  CHECK(retry_note(2, 3, 0ms) == "attempt 2 of 3 failed; retrying in 0 ms");
}

}  // TEST_SUITE("unit")
