#include "store/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace dram::store {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr long kConnectTimeoutMs = 5'000;
// A transfer slower than 1 KiB/s for 15 s is stalled: fail it so a retry can go elsewhere.
constexpr long kLowSpeedBytes = 1024;
constexpr long kLowSpeedSeconds = 15;

struct Transfer {
  const HttpCall* call;
  HttpReply* reply;
  bool aborted_by_sink = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {  // a new response (after 100-continue or a redirect) starts over
    transfer->reply->headers.clear();
    size_t space = line.find(' ');
    transfer->reply->status = space == std::string_view::npos ? 0 : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  transfer->reply->headers.emplace_back(std::move(name), std::string(value));
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  HttpReply& reply = *transfer->reply;
  reply.body_bytes += static_cast<int64_t>(n);
  const bool success = reply.status >= 200 && reply.status < 300;
  const HttpCall& call = *transfer->call;
  if (call.sink && (call.sink_status ? reply.status == call.sink_status : success)) {
    if (!(*call.sink)(std::string_view(data, n))) {
      transfer->aborted_by_sink = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
    return n;
  }
  const bool whole = success && !call.sink;
  if (whole || reply.body.size() < kMaxErrorBody) {
    reply.body.append(data, whole ? n : std::min(n, kMaxErrorBody - reply.body.size()));
  }
  return n;
}

}  // namespace

Status StatusOfHttpError(long status, const std::string& detail, const std::string& what) {
  switch (status) {
    case 404:
    case 410: return NotFound("no such object (" + detail + ")", what);
    case 412: return FailedPrecondition("precondition failed (" + detail + ")", what);
    case 416: return OutOfRange("range not satisfiable (" + detail + ")", what);
    case 401:
    case 403: return PermissionDenied("access denied (" + detail + ")", what);
    case 400: return InvalidArgument("bad request (" + detail + ")", what);
    default: break;
  }
  if (status >= 500 || status == 429 || status == 409 || status == 408) return Unavailable("store unavailable (" + detail + ")", what);
  return Internal("unexpected reply (" + detail + ")", what);
}

int64_t ParseHttpDateMs(const std::string* text) {
  if (!text) return 0;
  std::tm utc{};
  if (!strptime(text->c_str(), "%a, %d %b %Y %H:%M:%S", &utc)) return 0;
  return int64_t{timegm(&utc)} * 1000;
}

const std::string* HttpReply::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

HttpTransport::HttpTransport() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpTransport::~HttpTransport() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpTransport::Acquire() {
  {
    common::MutexLock lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpTransport::Release(void* handle) {
  common::MutexLock lock(mu_);
  idle_.push_back(handle);
}

Result<HttpReply> HttpTransport::Perform(const HttpCall& call) {
  CURL* curl = static_cast<CURL*>(Acquire());
  if (!curl) return Unavailable("cannot start an HTTP client");
  // reset() clears options but keeps the handle's live connections, which is the point of the pool.
  curl_easy_reset(curl);
  HttpReply reply;
  Transfer transfer{&call, &reply};
  curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytes);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  // Bigger receive chunks: fewer callbacks and pwrite calls per downloaded megabyte.
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (call.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (call.method == "PUT" || call.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  } else if (call.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : call.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  // No 100-continue round trip, and no form content type for PUT bodies.
  headers = curl_slist_append(headers, "Expect:");
  bool has_type = false;
  for (const auto& header : call.headers) has_type = has_type || header.first == "Content-Type" || header.first == "content-type";
  if ((call.method == "PUT" || call.method == "POST") && !has_type) {
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  Release(curl);
  if (code != CURLE_OK) {
    if (transfer.aborted_by_sink) return Aborted("download stopped by its receiver", call.url);
    if (code == CURLE_PARTIAL_FILE) return Unavailable("truncated response (the connection closed early)", call.method + " " + call.url);
    return Unavailable(std::string("HTTP transfer failed: ") + curl_easy_strerror(code), call.method + " " + call.url);
  }
  return reply;
}

}  // namespace dram::store
