// Output for people and machines: tables, the log's JSON records and its
// RFC 3339 time, the terminal transfer rows.

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/progress_board.h"
#include "core/redact.h"
#include "core/table.h"
#include "release/assets.h"

using namespace sbpipe;

namespace {

// Runs `body` with stderr going to a file; returns what it wrote.
template <typename F>
std::string capture_stderr(F body) {
  auto path = std::filesystem::temp_directory_path() / ("sbpipe-stderr-" + std::to_string(getpid()));
  std::fflush(stderr);
  int saved = dup(STDERR_FILENO);
  FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file != nullptr);
  dup2(fileno(file), STDERR_FILENO);
  body();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::fclose(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(path);
  return text.str();
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("Table: columns aligned to the widest cell, the last one unpadded") {
  Table table({"ITEM", "CHECK", "RESULT", "DETAIL"});
  table.add_row({"uki-signing-key.pem", "format", "ok", "PKCS#1 RSA"});
  table.add_row({"PK.auth", "present", "FAIL", ""});
  CHECK(table.render() ==
        "ITEM                 CHECK    RESULT  DETAIL\n"
        "uki-signing-key.pem  format   ok      PKCS#1 RSA\n"
        "PK.auth              present  FAIL\n");
  // A short row's last cell (a long URL) does not widen the column.
  Table summary;
  summary.add_row({"installer", "127.0.0.1:5000/owner/installer:v1.9.0@sha256:abcdef"});
  summary.add_row({"asset", "a.iso", "uploaded", "0123"});
  summary.add_row({"asset", "vmlinuz-amd64", "unchanged", "4567"});
  CHECK(summary.render("  ") ==
        "  installer  127.0.0.1:5000/owner/installer:v1.9.0@sha256:abcdef\n"
        "  asset      a.iso          uploaded   0123\n"
        "  asset      vmlinuz-amd64  unchanged  4567\n");
  Table fixed;
  fixed.set_min_width(0, 6);
  fixed.add_row({"ok", "x"});
  CHECK(fixed.render() == "ok      x\n");
  CHECK(Table().render().empty());
}

TEST_CASE("report_table: the upload summary lines up with fmt, counts below") {
  std::vector<AssetReport> reports{{"metal-amd64-secureboot.iso", AssetOutcome::uploaded, 3u << 20, std::string(64, 'a')},
                                   {"vmlinuz-amd64", AssetOutcome::unchanged, 2048, std::string(64, 'b')}};
  CHECK(report_table(reports) ==
        "ASSET                       RESULT     SIZE        SHA256\n"
        "metal-amd64-secureboot.iso  uploaded   3.0 MiB     aaaaaaaaaaaaaaaa\n"
        "vmlinuz-amd64               unchanged  2.0 KiB     bbbbbbbbbbbbbbbb\n"
        "1 uploaded, 0 replaced, 1 unchanged\n");
}

TEST_CASE("rfc3339_utc_ms: UTC with milliseconds and Z") {
  using namespace std::chrono;
  CHECK(rfc3339_utc_ms(system_clock::time_point(milliseconds(1796151537599))) == "2026-12-01T18:58:57.599Z");
  CHECK(rfc3339_utc_ms(system_clock::time_point(milliseconds(0))) == "1970-01-01T00:00:00.000Z");
  CHECK(rfc3339_utc_ms(system_clock::time_point(milliseconds(-1))) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("log_event: JSON records carry real fields, redacted, with an RFC 3339 time; text stays key=value") {
  TEST_clear_secrets();
  register_secret("s3cr3t-token-value");
  REQUIRE(setup_logging(LogFormat::json, "info"));
  auto before = std::chrono::system_clock::now();
  std::string out = capture_stderr([] {
    log_event(LogLevel::info, "webhook delivery",
              {{"delivery", "d-1"},
               {"event", "release"},
               {"repo", "owner/talos-build"},
               {"tag", "v1.9.0"},
               {"outcome", "created"},
               {"status", 201},
               {"ms", 1.5},
               {"note", "token s3cr3t-token-value"},
               {"msg", "a field may not hide the message"}},
              LogText::fields);
    log_event(LogLevel::debug, "below the level", {{"x", 1}});
    spdlog::info("plain line");
  });
  auto lines = json_lines(out);
  REQUIRE(lines.size() == 2);
  const auto& r = lines[0];
  CHECK(r["level"] == "info");
  CHECK(r["msg"] == "webhook delivery");
  CHECK(r["delivery"] == "d-1");
  CHECK(r["event"] == "release");
  CHECK(r["repo"] == "owner/talos-build");
  CHECK(r["tag"] == "v1.9.0");
  CHECK(r["outcome"] == "created");
  CHECK(r["status"] == 201);
  CHECK(r["ms"] == 1.5);
  CHECK(r["note"] == "token ***");
  CHECK(r["msg_"] == "a field may not hide the message");
  CHECK(!r.contains("ts_ms"));
  // The keys come in order: time, level, msg, then the fields as given.
  CHECK(out.starts_with("{\"time\":\""));
  CHECK(out.find("\"level\":\"info\",\"msg\":\"webhook delivery\",\"delivery\":\"d-1\",\"event\"") != std::string::npos);
  std::string time = r["time"];
  REQUIRE(time.size() == 24);
  CHECK(time[10] == 'T');
  CHECK(time[19] == '.');
  CHECK(time.back() == 'Z');
  CHECK(time.substr(0, 4) == rfc3339_utc_ms(before).substr(0, 4));
  CHECK(lines[1]["msg"] == "plain line");
  CHECK(lines[1].contains("time"));

  REQUIRE(setup_logging(LogFormat::text, "info"));
  std::string text = capture_stderr([] {
    log_event(LogLevel::info, "webhook delivery",
              {{"delivery", ""}, {"outcome", "unauthorized"}, {"status", 401}, {"ms", 0.0}, {"t", "s3cr3t-token-value"}},
              LogText::fields);
    log_event(LogLevel::warn, "plan: done", {{"step", "plan"}});
  });
  CHECK(text == "sbpipe: delivery=- outcome=unauthorized status=401 ms=0.0 t=***\nsbpipe: warning: plan: done\n");
  TEST_clear_secrets();
}

TEST_CASE("render_transfer_row: label, bar, done/total, rate and ETA, cut to the width") {
  using namespace std::chrono;
  auto start = steady_clock::time_point(seconds(100));
  TransferRow row{"pushing sha256:4b8ff33ad20c", 400u << 20, 100u << 20, start};
  CHECK(render_transfer_row(row, start + seconds(2), 30, 200) ==
        "pushing sha256:4b8ff33ad20c     [======>                 ]  100.0 MiB / 400.0 MiB  50.0 MiB/s  ETA 6s");
  CHECK(render_transfer_row(row, start + seconds(2), 30, 20) == "pushing sha256:4b8ff");
  TransferRow unknown{"compressing", std::nullopt, 3u << 20, start};
  CHECK(render_transfer_row(unknown, start + seconds(1), 0, 200) == "compressing  3.0 MiB  3.0 MiB/s");
  TransferRow finished{"a", 10, 10, start};
  CHECK(render_transfer_row(finished, start, 0, 200) == "a  [========================]  10 B / 10 B");
}

}  // TEST_SUITE("unit")
