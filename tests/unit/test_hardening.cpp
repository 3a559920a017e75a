// Issue 19 (network half) at the unit level: URL origins, the registry's
// credential policy against a scripted HTTP client, log escaping, the
// regular-file reader and the linear tar index.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include "core/config_file.h"
#include "core/file.h"
#include "core/log.h"
#include "http/url.h"
#include "oci/auth.h"
#include "oci/registry.h"
#include "oci/tar_archive.h"
#include "support/image_builder.h"
#include "support/process.h"
#include "unit/fakes.h"

using namespace sbpipe;
using namespace sbpipe::test;

TEST_SUITE("unit") {

TEST_CASE("URL origins: scheme, host and port, with the default ports; loopback hosts") {
  auto o = parse_url_origin("HTTPS://Ghcr.IO/v2/x?y");
  REQUIRE(o);
  CHECK(o->str() == "https://ghcr.io:443");
  CHECK(same_origin("http://127.0.0.1:5000/v2/", "http://127.0.0.1:5000/upload/u1?x"));
  CHECK(same_origin("https://reg", "https://reg:443/v2/"));
  CHECK(!same_origin("http://127.0.0.1:5000/", "http://localhost:5000/"));
  CHECK(!same_origin("http://reg:5000/", "http://reg:5001/"));
  CHECK(!same_origin("https://reg/", "http://reg/"));
  CHECK(!same_origin("http://user@evil/", "ftp://evil/"));
  CHECK(parse_url_origin("http://[::1]:8080/a")->host == "[::1]");
  CHECK(!parse_url_origin("http://reg:99999/"));
  CHECK(!parse_url_origin("/relative"));
  CHECK(parse_url_origin("http://u:p@host:81/")->str() == "http://host:81");
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("127.3.2.1"));
  CHECK(is_loopback_host("[::1]"));
  CHECK(!is_loopback_host("127.0.0.1.evil.example"));
  CHECK(!is_loopback_host("10.0.0.1"));
}

TEST_CASE("F4: Registry sends Authorization only to its own origin and refuses HTTPS→HTTP upload Locations") {
  FakeHttp http;
  FakeClock clock;
  Authenticator auth(http, clock, Credentials{"user", "pass"}, {});
  HttpResponse basic{401, {{"WWW-Authenticate", R"(Basic realm="r")"}}, "", ""};
  REQUIRE(auth.on_unauthorized(basic));
  std::string blob = "hello blob";
  Digest d = Digest::of(blob);
  auto authorization = [](const RecordedRequest& r) { return find_header(r.headers, "Authorization"); };

  SUBCASE("another host: the PUT goes there without credentials") {
    Registry registry(http, auth, clock, RegistryEndpoint{"http://127.0.0.1:5000", "o/r"}, RetryPolicy{});
    http.reply(202, {{"Location", "http://localhost:5000/upload/u1"}});
    http.reply(201);
    MemorySource body(blob);
    REQUIRE(registry.upload_blob(d, blob.size(), body));
    CHECK(authorization(http.requests[0]) == std::optional<std::string>("Basic dXNlcjpwYXNz"));
    CHECK(http.requests[1].url == "http://localhost:5000/upload/u1?digest=sha256%3A" + d.hex);
    CHECK(!authorization(http.requests[1]));
  }
  SUBCASE("same host, another port: no credentials either; a 401 from there is an auth error") {
    Registry registry(http, auth, clock, RegistryEndpoint{"http://reg:5000", "o/r"}, RetryPolicy{});
    http.reply(202, {{"Location", "http://reg:5001/upload/u1"}});
    http.reply(401, {{"WWW-Authenticate", R"(Basic realm="r")"}});
    http.reply(204);  // the cancelling DELETE
    MemorySource body(blob);
    auto st = registry.upload_blob(d, blob.size(), body);
    REQUIRE(!st);
    CHECK(st.error().kind() == ErrorKind::auth);
    CHECK(st.error().message() ==
          "registry reg:5000/o/r: PUT http://reg:5001 (another origin than the registry) asked for "
          "credentials; they are sent only to http://reg:5000");
    for (size_t i = 1; i < http.requests.size(); ++i) CHECK(!authorization(http.requests[i]));
  }
  SUBCASE("an HTTPS registry's plain-HTTP Location is refused before any byte is sent there") {
    Registry registry(http, auth, clock, RegistryEndpoint{"https://reg", "o/r"}, RetryPolicy{});
    http.reply(202, {{"Location", "http://reg/upload/u1"}});
    MemorySource body(blob);
    auto st = registry.upload_blob(d, blob.size(), body);
    REQUIRE(!st);
    CHECK(st.error().message() ==
          "registry reg/o/r: upload Location http://reg is plain HTTP while the registry is HTTPS; "
          "refusing to send the image unencrypted");
    CHECK(http.requests.size() == 1);
  }
}

TEST_CASE("F4: the registry login goes to a token realm only over HTTPS or to loopback") {
  FakeHttp http;
  FakeClock clock;
  auto challenge = [](const std::string& realm) {
    return HttpResponse{401, {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"reg\""}}, "", ""};
  };
  Authenticator plain(http, clock, Credentials{"u", "p"}, {});
  auto refused = plain.on_unauthorized(challenge("http://auth.example/token"));
  REQUIRE(!refused);
  CHECK(refused.error().message() ==
        "token service http://auth.example is plain HTTP on a host other than loopback; sbpipe sends "
        "the registry login only over HTTPS (or to 127.0.0.1/localhost)");
  CHECK(http.requests.empty());
  Authenticator anonymous(http, clock, Credentials{}, {});
  http.reply(200, {}, R"({"token":"anon"})");
  CHECK(anonymous.on_unauthorized(challenge("http://auth.example/token")));
  CHECK(!find_header(http.requests.back().headers, "Authorization"));
  for (const char* realm : {"https://auth.example/token", "http://127.0.0.1:9/token", "http://localhost:9/token"}) {
    Authenticator ok(http, clock, Credentials{"u", "p"}, {});
    http.reply(200, {}, R"({"token":"t"})");
    CHECK(ok.on_unauthorized(challenge(realm)));
    CHECK(find_header(http.requests.back().headers, "Authorization") == std::optional<std::string>("Basic dTpw"));
  }
}

TEST_CASE("F9: text log escaping keeps one record on one line") {
  CHECK(escape_controls("plain text\tand UTF-8 \xc3\xa9") == "plain text\tand UTF-8 \xc3\xa9");
  CHECK(escape_controls("x\r\x1b[31mFORGED\n") == "x\\r\\x1b[31mFORGED\\n");
  CHECK(escape_controls(std::string("a\0b\x7f", 4)) == "a\\x00b\\x7f");
}

TEST_CASE("F15: the file reader refuses FIFOs and devices at once, and names them") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  auto fifo = read_small_file(dir / "fifo");
  REQUIRE(!fifo);
  CHECK(fifo.error().kind() == ErrorKind::invalid_input);
  CHECK(fifo.error().message() == (dir / "fifo").string() + ": not a regular file (a FIFO)");
  CHECK(read_small_file("/dev/zero").error().message() == "/dev/zero: not a regular file (a character device)");
  CHECK(read_small_file(dir.path()).error().message() == dir.path().string() + ": not a regular file (a directory)");
  CHECK(read_small_file(dir / "missing").error().kind() == ErrorKind::not_found);
  auto secret = read_secret_file(dir / "fifo", "webhook secret");
  CHECK(secret.error().kind() == ErrorKind::config);
  CHECK(secret.error().message() ==
        "webhook secret file " + (dir / "fifo").string() + ": cannot read (not a regular file (a FIFO))");
  CHECK(!file_opener(dir / "fifo")());
  write_file(dir / "big", std::string(70000, 'x'));
  CHECK(read_secret_file(dir / "big", "token").error().message() ==
        "token file " + (dir / "big").string() + ": cannot read (larger than 65536 bytes)");
}

TEST_CASE("F16: complex YAML keys are config errors naming the file") {
  auto visit = [](const std::string&, const YAML::Node&) -> Status { return {}; };
  auto top = visit_config_section("? [imager, x]\n: 1\n", "f.yaml", "imager", visit);
  REQUIRE(!top);
  CHECK(top.error().kind() == ErrorKind::config);
  CHECK(top.error().message() == "f.yaml: the top level has a key that is not a plain name (a list)");
  auto inner = visit_config_section("imager:\n  ? {a: 1}\n  : 2\n", "f.yaml", "imager", visit);
  CHECK(inner.error().message() == "f.yaml: imager has a key that is not a plain name (a mapping)");
}

TEST_CASE("F10: a tar index of 100,000 members: the last copy of a name wins, and opener() streams that copy") {
  TempDir dir;
  Members members;
  members.reserve(100'003);
  for (int i = 0; i < 100'000; ++i) members.emplace_back("junk/" + std::to_string(i), "");
  members.emplace_back("layer.tar", "first");
  members.emplace_back("./layer.tar", "second");
  members.emplace_back("link-free", "x");
  write_tar(dir / "many.tar", members);
  auto archive = TarArchive::open(dir / "many.tar");
  REQUIRE(archive);
  CHECK(archive->entries().size() == 100'003);
  const TarEntry* layer = archive->find("layer.tar");
  REQUIRE(layer != nullptr);
  CHECK(layer->ordinal == 2);
  CHECK(archive->read_small(*layer).value() == "second");
  CHECK(archive->find("junk/99999") != nullptr);
  CHECK(archive->find("junk/100000") == nullptr);
}

}  // TEST_SUITE("unit")
