// The libcurl adapter: the only file of sbpipe that includes curl.h. It maps
// curl's error codes into ErrorKind at this boundary.

#include <curl/curl.h>

#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

#include "core/progress.h"
#include "http/client.h"

namespace sbpipe {
namespace {

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  std::optional<Error> body_error;      // the request body source failed
  std::optional<Error> response_error;  // the response body was refused
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  auto n = t->request->body->read({buffer, size * count});
  if (!n) {
    t->body_error = n.error();
    return CURL_READFUNC_ABORT;
  }
  return *n;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->request->on_body && t->response->status >= 200 && t->response->status < 300) {
    if (auto st = t->request->on_body({data, n}); !st) {
      t->response_error = st.error();
      return 0;
    }
    return n;
  }
  if (t->response->body.size() + n > t->request->max_response_body) {
    // Name the request: "response body too large" alone does not say which
    // server misbehaved (F17).
    const std::string& url = t->request->url;
    t->response_error = Error(ErrorKind::permanent, t->request->method + " " + url.substr(0, url.find('?')) + ": HTTP " +
                                                        std::to_string(t->response->status) + " response body larger than " +
                                                        std::to_string(t->request->max_response_body) + " bytes");
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response (after 1xx or a redirect): forget the previous headers.
    t->response->headers.clear();
    auto sp = line.find(' ');
    if (sp != std::string_view::npos) t->response->status = std::strtol(line.data() + sp + 1, nullptr, 10);
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    t->response->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return size * count;
}

ErrorKind kind_of(CURLcode code) {
  switch (code) {
  case CURLE_OPERATION_TIMEDOUT: return ErrorKind::timeout;
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_WEIRD_SERVER_REPLY:
  // The connection broke while a body was being sent and libcurl could not
  // send it again on a new one: the server went away, not the request wrong.
  case CURLE_SEND_FAIL_REWIND: return ErrorKind::transient;
  default:  // DNS and TLS failures too: the same request fails the same way
    return ErrorKind::permanent;
  }
}

// What to try, for failures a retry does not fix.
std::string hint_for(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return " (the name does not resolve: check the host name and DNS)";
  case CURLE_SSL_CONNECT_ERROR: return " (no TLS handshake: does the server speak plain HTTP? for a registry try --plain-http)";
  case CURLE_PEER_FAILED_VERIFICATION:
    return " (the certificate is not trusted: give its CA bundle, --ca-file for a registry or --github-ca-file for "
           "GitHub, or --insecure for a registry with a self-signed certificate)";
  case CURLE_SEND_FAIL_REWIND: return " (the connection broke during the upload; it starts again from the beginning)";
  default: return "";
  }
}

class CurlClient final : public HttpClient {
public:
  explicit CurlClient(const HttpOptions& options) : m_options(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    m_curl = curl_easy_init();
  }
  ~CurlClient() override { curl_easy_cleanup(m_curl); }

  Result<HttpResponse> send(const HttpRequest& request) override {
    HttpResponse response;
    Transfer t{&request, &response, {}, {}};
    // reset keeps the connection cache, so keep-alive survives across requests.
    curl_easy_reset(m_curl);
    CURL* c = m_curl;
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, m_options.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(m_options.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(m_options.stall_timeout.count()));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!m_options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, m_options.ca_file.c_str());
    if (!m_options.ca_pem.empty()) set_blob(c, CURLOPT_CAINFO_BLOB, m_options.ca_pem);
    if (!m_options.client_cert_pem.empty()) {
      set_blob(c, CURLOPT_SSLCERT_BLOB, m_options.client_cert_pem);
      curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
      set_blob(c, CURLOPT_SSLKEY_BLOB, m_options.client_key_pem);
      curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    auto timeout = m_options.total_timeout;
    if (request.timeout.count() > 0 && (timeout.count() == 0 || request.timeout < timeout)) timeout = request.timeout;
    if (timeout.count() > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    if (m_options.insecure_skip_verify) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (request.follow_redirects) {
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
      // An HTTPS request is never redirected to plain HTTP. (curl itself drops
      // our Authorization header when a redirect leaves the host.)
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, request.url.starts_with("https://") ? "https" : "http,https");
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

    struct curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
    // No "Expect: 100-continue" round trip before bodies.
    headers = curl_slist_append(headers, "Expect:");

    if (request.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.body != nullptr) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(c, CURLOPT_READDATA, &t);
      if (request.body_size) {
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(*request.body_size));
      } else {
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
      }
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

    CURLcode code = curl_easy_perform(c);
    curl_slist_free_all(headers);
    log_exchange(request, code == CURLE_OK ? std::to_string(response.status) : curl_easy_strerror(code));

    if (t.body_error) return fail(*t.body_error);
    if (t.response_error) return fail(*t.response_error);
    if (code != CURLE_OK) {
      return fail(kind_of(code),
                  request.method + " " + origin_and_path(request.url) + ": " + curl_easy_strerror(code) + hint_for(code));
    }
    char* effective = nullptr;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
    response.url = effective != nullptr ? effective : request.url;
    return response;
  }

private:
  // curl copies the blob (CURL_BLOB_COPY), so `data` need not outlive the call.
  static void set_blob(CURL* c, CURLoption option, const std::string& data) {
    curl_blob blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, option, &blob);
  }

  // One line per request at debug level, for "what did it send?" (as
  // `crane -v` and `GH_DEBUG=api` show it): the method, the URL without its
  // query, the answer (a status, or curl's error), the bytes each way and
  // the time. Never a header: credentials travel only there.
  void log_exchange(const HttpRequest& request, const std::string& answer) const {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    curl_off_t sent = 0, received = 0, micros = 0;
    curl_easy_getinfo(m_curl, CURLINFO_SIZE_UPLOAD_T, &sent);
    curl_easy_getinfo(m_curl, CURLINFO_SIZE_DOWNLOAD_T, &received);
    curl_easy_getinfo(m_curl, CURLINFO_TOTAL_TIME_T, &micros);
    spdlog::debug("http: {} {} -> {} ({} sent, {} received, {} ms)", request.method, origin_and_path(request.url), answer,
                  format_bytes(static_cast<uint64_t>(sent)), format_bytes(static_cast<uint64_t>(received)), micros / 1000);
  }

  // The URL without its query: upload URLs carry opaque state, which only
  // makes error messages longer.
  static std::string origin_and_path(const std::string& url) { return url.substr(0, url.find('?')); }

  HttpOptions m_options;
  CURL* m_curl = nullptr;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(const HttpOptions& options) { return std::make_unique<CurlClient>(options); }

}  // namespace sbpipe
