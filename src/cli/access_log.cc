#include "cli/access_log.h"

#include <array>

namespace dram::cli {

namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// "http://host:port/path?q" → "/path?q"; a target that is already a path is returned as is.
std::string_view StripOrigin(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.starts_with(scheme)) {
      target.remove_prefix(scheme.size());
      size_t slash = target.find('/');
      return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  return target;
}

}  // namespace

std::optional<std::string> ParseRequestLine(std::string_view line) {
  line = Trim(line);
  if (line.empty() || line.front() == '#') return std::nullopt;
  std::string_view target;
  size_t quote = line.find('"');
  if (quote != std::string_view::npos) {
    // Combined/common log format: the request is the first quoted field, "METHOD TARGET PROTOCOL".
    size_t end = line.find('"', quote + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view request = line.substr(quote + 1, end - quote - 1);
    size_t space = request.find(' ');
    if (space == std::string_view::npos || request.substr(0, space) != "GET") return std::nullopt;
    request.remove_prefix(space + 1);
    target = request.substr(0, request.find(' '));
  } else {
    if (line.starts_with("GET ")) line = Trim(line.substr(4));
    // A bare line is one target; anything after whitespace (a protocol, a comment) is not part of it.
    target = line.substr(0, line.find_first_of(" \t"));
  }
  target = StripOrigin(target);
  if (target.empty() || target.front() != '/') return std::nullopt;
  return std::string(target);
}

std::vector<std::string> ParseRequestFile(std::string_view text, size_t max_requests) {
  std::vector<std::string> targets;
  size_t start = 0;
  while (start < text.size() && (max_requests == 0 || targets.size() < max_requests)) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (auto target = ParseRequestLine(text.substr(start, end - start))) targets.push_back(std::move(*target));
    start = end + 1;
  }
  return targets;
}

std::string PathOf(std::string_view target) { return std::string(target.substr(0, target.find('?'))); }

bool QueryHasOrder(std::string_view target) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return false;
  std::string_view query = target.substr(question + 1);
  static constexpr std::array<std::string_view, 4> kOrderKeys = {"sort", "order", "order_by", "sort_by"};
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::string_view key = pair.substr(0, pair.find('='));
    for (std::string_view order_key : kOrderKeys) {
      if (key == order_key) return true;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace dram::cli
