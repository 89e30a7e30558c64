#include "store/s3_object_store.h"

#include <expat.h>

#include <ctime>

#include "common/civil_time.h"
#include "common/sha256.h"
#include "store/resumable_get.h"

namespace dram::store {

namespace {

// SHA-256 of the empty body, sent with every GET/HEAD/DELETE.
constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string AmzDateNow() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[20];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

std::string Unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

// Expat walk of a ListObjectsV2 (or error) document: remembers the element path and the text.
struct XmlWalk {
  std::vector<std::string> path;
  std::string text;
  ListResult result;
  ObjectInfo current;
  std::string error_code;
  bool truncated = false;
  std::string next_token;

  static void Start(void* user, const XML_Char* name, const XML_Char**) {
    auto* walk = static_cast<XmlWalk*>(user);
    walk->path.emplace_back(name);
    walk->text.clear();
    if (walk->path.back() == "Contents") walk->current = ObjectInfo{};
  }
  static void Text(void* user, const XML_Char* data, int length) {
    static_cast<XmlWalk*>(user)->text.append(data, static_cast<size_t>(length));
  }
  static void End(void* user, const XML_Char*) {
    auto* walk = static_cast<XmlWalk*>(user);
    const std::string& name = walk->path.back();
    const std::string parent = walk->path.size() >= 2 ? walk->path[walk->path.size() - 2] : "";
    if (parent == "Contents") {
      if (name == "Key") walk->current.key = walk->text;
      if (name == "Size") walk->current.size = std::atoll(walk->text.c_str());
      if (name == "ETag") walk->current.etag = Unquote(walk->text);
      if (name == "LastModified") {
        auto micros = common::ParseIsoTimestamp(walk->text);
        walk->current.modified_ms = micros ? *micros / 1000 : 0;
      }
    } else if (parent == "CommonPrefixes" && name == "Prefix") {
      walk->result.prefixes.push_back(walk->text);
    } else if (name == "Contents") {
      walk->result.objects.push_back(std::move(walk->current));
    } else if (name == "IsTruncated") {
      walk->truncated = walk->text == "true";
    } else if (name == "NextContinuationToken") {
      walk->next_token = walk->text;
    } else if (name == "Code" && parent == "Error") {
      walk->error_code = walk->text;
    }
    walk->path.pop_back();
    walk->text.clear();
  }
};

bool WalkXml(std::string_view xml, XmlWalk& walk) {
  XML_Parser parser = XML_ParserCreate(nullptr);
  if (!parser) return false;
  XML_SetUserData(parser, &walk);
  XML_SetElementHandler(parser, XmlWalk::Start, XmlWalk::End);
  XML_SetCharacterDataHandler(parser, XmlWalk::Text);
  bool ok = XML_Parse(parser, xml.data(), static_cast<int>(xml.size()), XML_TRUE) == XML_STATUS_OK;
  XML_ParserFree(parser);
  return ok;
}

}  // namespace

Result<ListResult> ParseListObjectsV2(std::string_view xml) {
  XmlWalk walk;
  if (!WalkXml(xml, walk)) return Unavailable("unreadable ListObjectsV2 reply");
  if (walk.truncated) {
    if (walk.next_token.empty()) return Unavailable("truncated ListObjectsV2 reply without a continuation token");
    walk.result.continuation = walk.next_token;
  }
  return std::move(walk.result);
}

std::string ParseS3ErrorCode(std::string_view xml) {
  XmlWalk walk;
  WalkXml(xml, walk);
  return walk.error_code;
}

S3ObjectStore::S3ObjectStore(S3Config config) : config_(std::move(config)) {
  std::string_view endpoint = config_.endpoint;
  while (endpoint.ends_with('/')) endpoint.remove_suffix(1);
  size_t scheme_end = endpoint.find("://");
  std::string scheme(scheme_end == std::string_view::npos ? "https" : endpoint.substr(0, scheme_end));
  std::string host(scheme_end == std::string_view::npos ? endpoint : endpoint.substr(scheme_end + 3));
  host_ = config_.path_style ? host : config_.bucket + "." + host;
  origin_ = scheme + "://" + host_;
}

Result<HttpReply> S3ObjectStore::Send(const Request& request) {
  std::string path = config_.path_style ? "/" + UriEncode(config_.bucket, false) : "";
  if (!request.key.empty()) path += "/" + UriEncode(config_.prefix + request.key, true);
  if (path.empty()) path = "/";
  const std::string payload_sha = request.body.empty() ? std::string(kEmptySha256) : common::Sha256Hex(request.body);
  SigV4Request to_sign{request.method, path, request.query, request.headers, payload_sha};
  const std::string amz_date = AmzDateNow();
  to_sign.headers.emplace_back("host", host_);
  to_sign.headers.emplace_back("x-amz-date", amz_date);
  to_sign.headers.emplace_back("x-amz-content-sha256", payload_sha);
  if (!config_.credentials.session_token.empty()) {
    to_sign.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  SigV4Signature signature = SignV4(to_sign, config_.credentials, config_.region, "s3", amz_date);

  HttpCall call;
  call.method = request.method;
  call.url = origin_ + path;
  std::string query;
  for (const auto& [name, value] : request.query) {
    query += (query.empty() ? "?" : "&") + UriEncode(name, false) + "=" + UriEncode(value, false);
  }
  call.url += query;
  call.headers = std::move(to_sign.headers);
  call.headers.emplace_back("Authorization", signature.authorization);
  call.body = request.body;
  call.sink = request.sink;
  // A ranged read must come back as 206: a server that ignored Range would send byte 0 onwards.
  for (const auto& header : request.headers) {
    if (header.first == "range") call.sink_status = 206;
  }
  call.timeout = config_.request_timeout;
  return transport_.Perform(call);
}

Status S3ObjectStore::ErrorOf(const HttpReply& reply, const std::string& what) const {
  std::string code = ParseS3ErrorCode(reply.body);
  std::string message = "HTTP " + std::to_string(reply.status) + (code.empty() ? "" : " " + code);
  // Any object of a missing bucket is missing; say which bucket, not only which key.
  if (code == "NoSuchBucket") return NotFound("no such bucket '" + config_.bucket + "' (" + message + ")", what);
  return StatusOfHttpError(reply.status, message, what);
}

ObjectInfo S3ObjectStore::InfoOf(const std::string& key, const HttpReply& reply) const {
  ObjectInfo info;
  info.key = key;
  if (const std::string* length = reply.Header("content-length")) info.size = std::atoll(length->c_str());
  const std::string* etag = config_.flavor == S3Config::Flavor::kGcs ? reply.Header("x-goog-generation")
                                                                      : reply.Header("etag");
  if (etag) info.etag = Unquote(*etag);
  info.modified_ms = ParseHttpDateMs(reply.Header("last-modified"));
  return info;
}

Status S3ObjectStore::Read(const std::string& key, std::optional<ByteRange> range, const ByteSink& sink,
                           const ReadOptions& options) {
  RETURN_IF_ERROR(CheckKey(key));
  SendGet send = [&](const std::string& range_header, const ByteSink& body) -> Result<HttpReply> {
    Request request{"GET", key};
    if (!range_header.empty()) request.headers.emplace_back("range", range_header);
    if (!options.if_match_etag.empty()) {
      request.headers.emplace_back(config_.flavor == S3Config::Flavor::kGcs ? "x-goog-if-generation-match" : "if-match",
                                   options.if_match_etag);
    }
    request.sink = &body;
    return Send(request);
  };
  return ResumableGet(config_.retry, range, sink, send, [&](const HttpReply& reply) { return ErrorOf(reply, key); }, key);
}

Result<ObjectInfo> S3ObjectStore::Head(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  return WithRetries(config_.retry, [&]() -> Result<ObjectInfo> {
    ASSIGN_OR_RETURN(HttpReply reply, Send(Request{"HEAD", key}));
    if (reply.status / 100 != 2) return ErrorOf(reply, key);
    return InfoOf(key, reply);
  });
}

Result<ObjectInfo> S3ObjectStore::Put(const std::string& key, const std::string& bytes, const PutOptions& options) {
  RETURN_IF_ERROR(CheckKey(key));
  Request request{"PUT", key};
  request.body = bytes;
  const bool gcs = config_.flavor == S3Config::Flavor::kGcs;
  if (options.if_absent) {
    if (gcs) {
      request.headers.emplace_back("x-goog-if-generation-match", "0");
    } else {
      request.headers.emplace_back("if-none-match", "*");
    }
  } else if (!options.if_match_etag.empty()) {
    if (gcs) {
      request.headers.emplace_back("x-goog-if-generation-match", options.if_match_etag);
    } else {
      // radosgw compares the unquoted form only; AWS accepts both.
      request.headers.emplace_back("if-match", options.if_match_etag);
    }
  }
  // A retried create-only put whose first attempt landed but whose reply was lost comes back as
  // 412: callers that need exactly-once (the catalog) read the object back to tell.
  return WithRetries(config_.retry, [&]() -> Result<ObjectInfo> {
    ASSIGN_OR_RETURN(HttpReply reply, Send(request));
    if (reply.status / 100 != 2) return ErrorOf(reply, key);
    ObjectInfo info = InfoOf(key, reply);
    info.size = static_cast<int64_t>(bytes.size());
    if (info.modified_ms == 0) info.modified_ms = int64_t{std::time(nullptr)} * 1000;
    return info;
  });
}

Result<ListResult> S3ObjectStore::List(const std::string& prefix, const std::string& delimiter,
                                       const std::string& continuation, int max_keys) {
  Request request{"GET", ""};
  request.query = {{"list-type", "2"}, {"prefix", config_.prefix + prefix}, {"max-keys", std::to_string(max_keys)}};
  if (!delimiter.empty()) request.query.emplace_back("delimiter", delimiter);
  if (!continuation.empty()) request.query.emplace_back("continuation-token", continuation);
  ASSIGN_OR_RETURN(ListResult result, WithRetries(config_.retry, [&]() -> Result<ListResult> {
                     ASSIGN_OR_RETURN(HttpReply reply, Send(request));
                     if (reply.status / 100 != 2) return ErrorOf(reply, "list " + prefix);
                     return ParseListObjectsV2(reply.body);
                   }));
  // Keys of this store are relative to its prefix.
  for (auto& object : result.objects) {
    if (object.key.starts_with(config_.prefix)) object.key.erase(0, config_.prefix.size());
  }
  for (auto& common : result.prefixes) {
    if (common.starts_with(config_.prefix)) common.erase(0, config_.prefix.size());
  }
  return result;
}

Status S3ObjectStore::Delete(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  return WithRetries(config_.retry, [&]() -> Status {
    ASSIGN_OR_RETURN(HttpReply reply, Send(Request{"DELETE", key}));
    if (reply.status / 100 != 2 && reply.status != 404) return ErrorOf(reply, key);
    return Status::Ok();
  });
}

}  // namespace dram::store
