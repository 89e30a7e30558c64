#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dram::store {

// One request to sign with AWS Signature Version 4.
struct SigV4Request {
  std::string method;                                      // "GET", "PUT", …
  std::string path;                                        // already URI-encoded, e.g. "/bucket/key%20x"
  std::vector<std::pair<std::string, std::string>> query;  // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // must include host and x-amz-date
  std::string payload_sha256;                              // hex SHA-256 of the body
};

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional; sent as x-amz-security-token by the caller
};

// The pieces of a signature, exposed so each step can be checked against published vectors.
struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // the Authorization header value
};

// Signs `request` for `region` and `service` at `amz_date` ("20150830T123600Z").
SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials, std::string_view region,
                      std::string_view service, std::string_view amz_date);

// The derived signing key (raw bytes) for a date ("20150830"), region and service.
std::string SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service);

// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else is %XX
// (uppercase); '/' stays when `keep_slash` (paths) and is encoded otherwise (query values).
std::string UriEncode(std::string_view text, bool keep_slash);

}  // namespace dram::store
