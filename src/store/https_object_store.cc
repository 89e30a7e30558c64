#include "store/https_object_store.h"

#include <ctime>

#include "store/resumable_get.h"
#include "store/sigv4.h"

namespace dram::store {

namespace {

Status ErrorOf(const HttpReply& reply, const std::string& what) {
  return StatusOfHttpError(reply.status, "HTTP " + std::to_string(reply.status), what);
}

}  // namespace

HttpsObjectStore::HttpsObjectStore(std::string base_url, RetryPolicy retry)
    : base_url_(base_url.ends_with('/') ? base_url.substr(0, base_url.size() - 1) : base_url), retry_(retry) {}

std::string HttpsObjectStore::UrlOf(const std::string& key) const { return base_url_ + "/" + UriEncode(key, true); }

Status HttpsObjectStore::Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
                              const ReadOptions& options) {
  RETURN_IF_ERROR(CheckKey(key));
  SendGet send = [&](const std::string& range_header, const ByteSink& body) {
    HttpCall call{"GET", UrlOf(key)};
    if (!range_header.empty()) {
      call.headers.emplace_back("Range", range_header);
      call.sink_status = 206;
    }
    if (!options.if_match_etag.empty()) call.headers.emplace_back("If-Match", "\"" + options.if_match_etag + "\"");
    call.sink = &body;
    return transport_.Perform(call);
  };
  return ResumableGet(retry_, range, sink, send, [&](const HttpReply& reply) { return ErrorOf(reply, key); }, key);
}

Result<ObjectInfo> HttpsObjectStore::Head(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  return WithRetries(retry_, [&]() -> Result<ObjectInfo> {
    ASSIGN_OR_RETURN(HttpReply reply, transport_.Perform(HttpCall{"HEAD", UrlOf(key)}));
    if (reply.status / 100 != 2) return ErrorOf(reply, key);
    ObjectInfo info{key};
    if (const std::string* length = reply.Header("content-length")) info.size = std::atoll(length->c_str());
    if (const std::string* etag = reply.Header("etag")) {
      std::string_view value = *etag;
      if (value.starts_with("W/")) value.remove_prefix(2);
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      info.etag = std::string(value);
    }
    info.modified_ms = ParseHttpDateMs(reply.Header("last-modified"));
    return info;
  });
}

Result<ObjectInfo> HttpsObjectStore::Put(const std::string& key, const std::string&, const PutOptions&) {
  return PermissionDenied("an https:// store is read-only", key);
}

Result<ListResult> HttpsObjectStore::List(const std::string& prefix, const std::string&, const std::string&, int) {
  return Unimplemented("an https:// store cannot list its files; name them", prefix);
}

Status HttpsObjectStore::Delete(const std::string& key) { return PermissionDenied("an https:// store is read-only", key); }

}  // namespace dram::store
