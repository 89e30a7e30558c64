#include "store/sigv4.h"

#include <algorithm>
#include <cctype>

#include "common/sha256.h"

namespace dram::store {

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string SigV4SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string key = common::HmacSha256("AWS4" + std::string(secret), date);
  key = common::HmacSha256(key, region);
  key = common::HmacSha256(key, service);
  return common::HmacSha256(key, "aws4_request");
}

namespace {

std::string Trim(std::string_view value) {
  size_t start = value.find_first_not_of(" \t");
  if (start == std::string_view::npos) return "";
  size_t end = value.find_last_not_of(" \t");
  // Sequential spaces inside a value collapse to one, as the specification asks.
  std::string out;
  bool space = false;
  for (char c : value.substr(start, end - start + 1)) {
    if (c == ' ') {
      if (!space) out.push_back(c);
      space = true;
    } else {
      out.push_back(c);
      space = false;
    }
  }
  return out;
}

}  // namespace

SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials, std::string_view region,
                      std::string_view service, std::string_view amz_date) {
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, value] : request.query) query.emplace_back(UriEncode(name, false), UriEncode(value, false));
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [name, value] : query) canonical_query += (canonical_query.empty() ? "" : "&") + name + "=" + value;

  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    headers.emplace_back(std::move(lower), Trim(value));
  }
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }

  SigV4Signature out;
  out.canonical_request = request.method + "\n" + (request.path.empty() ? "/" : request.path) + "\n" + canonical_query +
                          "\n" + canonical_headers + "\n" + signed_headers + "\n" + request.payload_sha256;
  std::string date(amz_date.substr(0, 8));
  std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + common::Sha256Hex(out.canonical_request);
  out.signature = common::HexOf(common::HmacSha256(SigV4SigningKey(credentials.secret_access_key, date, region, service),
                                                   out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + out.signature;
  return out;
}

}  // namespace dram::store
