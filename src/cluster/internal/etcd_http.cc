#include "cluster/internal/etcd_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace dram::cluster::internal {

namespace {

// An idle stream is checked at least this often even when no socket event wakes the poll
// (a stop request wakes it at once through curl_multi_wakeup).
constexpr std::chrono::milliseconds kMaxPollWait{1'000};

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The headers every etcd call sends; the caller frees the list after the transfer.
curl_slist* Headers(bool require_leader) {
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  // grpc-gateway turns Grpc-Metadata-* headers into gRPC metadata; "hasleader" is etcd's
  // rpctypes.MetadataRequireLeaderKey.
  if (require_leader) headers = curl_slist_append(headers, "Grpc-Metadata-hasleader: true");
  return headers;
}

void SetPost(CURL* curl, const PostRequest& request, curl_slist* headers) {
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
}

// Whether the request may have reached the member: only a failure before the connection existed
// is certain not to have.
HttpExchange::Failure FailureOf(CURLcode code, CURL* curl) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: return HttpExchange::Failure::kConnect;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connected_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected_us);
      return connected_us == 0 ? HttpExchange::Failure::kConnect : HttpExchange::Failure::kTimeout;
    }
    default: return HttpExchange::Failure::kOther;
  }
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct Stream {
  const std::function<bool(std::string_view)>* on_data;
  std::chrono::steady_clock::time_point last_activity;
  bool ended_by_receiver = false;
};

size_t OnStreamHeader(char*, size_t size, size_t count, void* user) {
  static_cast<Stream*>(user)->last_activity = std::chrono::steady_clock::now();
  return size * count;
}

size_t OnStreamData(char* data, size_t size, size_t count, void* user) {
  auto* stream = static_cast<Stream*>(user);
  stream->last_activity = std::chrono::steady_clock::now();
  const bool more = (*stream->on_data)(std::string_view(data, size * count));
  // A slow receiver is not a silent member: the idle clock starts after it returns.
  stream->last_activity = std::chrono::steady_clock::now();
  if (!more) {
    stream->ended_by_receiver = true;
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  return size * count;
}

}  // namespace

HttpPool::HttpPool() { InitCurlOnce(); }

HttpPool::~HttpPool() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpPool::Acquire() {
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

void HttpPool::Release(void* handle) {
  common::MutexLock lock(mu_);
  idle_.push_back(handle);
}

HttpExchange HttpPool::Post(const PostRequest& request, std::chrono::milliseconds timeout) {
  HttpExchange out;
  CURL* curl = static_cast<CURL*>(Acquire());
  if (!curl) {
    out.failure = HttpExchange::Failure::kOther;
    out.error = "cannot start an HTTP client";
    return out;
  }
  // reset() clears the options but keeps the handle's open connections, the point of the pool.
  curl_easy_reset(curl);
  curl_slist* headers = Headers(request.require_leader);
  SetPost(curl, request, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  } else {
    out.failure = FailureOf(code, curl);
    out.error = curl_easy_strerror(code);
    out.body.clear();
  }
  Release(curl);
  return out;
}

HttpExchange PostStream(const PostRequest& request, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds idle_timeout, std::stop_token stop,
                        const std::function<bool(std::string_view)>& on_data) {
  InitCurlOnce();
  HttpExchange out;
  CURL* curl = curl_easy_init();
  CURLM* multi = curl_multi_init();
  if (!curl || !multi) {
    if (curl) curl_easy_cleanup(curl);
    if (multi) curl_multi_cleanup(multi);
    out.failure = HttpExchange::Failure::kOther;
    out.error = "cannot start an HTTP client";
    return out;
  }
  Stream stream{&on_data, std::chrono::steady_clock::now()};
  curl_slist* headers = Headers(request.require_leader);
  SetPost(curl, request, headers);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnStreamHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &stream);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnStreamData);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &stream);
  curl_multi_add_handle(multi, curl);
  {
    // The multi interface rather than curl_easy_perform: a stop request wakes the poll at once
    // (curl_multi_wakeup is the one call that is safe from another thread), where the easy
    // interface's progress callback runs only about once a second on an idle stream.
    std::stop_callback wake(stop, [multi] { curl_multi_wakeup(multi); });
    for (;;) {
      int running = 0;
      if (CURLMcode mc = curl_multi_perform(multi, &running); mc != CURLM_OK) {
        out.failure = HttpExchange::Failure::kOther;
        out.error = curl_multi_strerror(mc);
        break;
      }
      if (running == 0) {
        int queued = 0;
        CURLMsg* message = curl_multi_info_read(multi, &queued);
        CURLcode code = message && message->msg == CURLMSG_DONE ? message->data.result : CURLE_OK;
        if (stream.ended_by_receiver) {
          out.failure = HttpExchange::Failure::kReceiver;
        } else if (code != CURLE_OK) {
          out.failure = FailureOf(code, curl);
          out.error = curl_easy_strerror(code);
        }
        break;
      }
      if (stop.stop_requested()) {
        out.failure = HttpExchange::Failure::kStopped;
        break;
      }
      auto silent = std::chrono::steady_clock::now() - stream.last_activity;
      if (silent >= idle_timeout) {
        out.failure = HttpExchange::Failure::kIdle;
        out.error = "nothing received for " + std::to_string(idle_timeout.count()) + " ms";
        break;
      }
      auto wait = std::min(kMaxPollWait, std::chrono::duration_cast<std::chrono::milliseconds>(idle_timeout - silent) +
                                             std::chrono::milliseconds(1));
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_multi_remove_handle(multi, curl);
  curl_easy_cleanup(curl);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  return out;
}

}  // namespace dram::cluster::internal
