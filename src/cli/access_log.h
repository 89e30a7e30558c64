#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dram::cli {

// One line of a recorded-requests file → the request target to replay ("/v1/sales?region=n").
// Accepts either format, line by line:
//   - a target per line: "/v1/sales?region=n", or a full URL "http://host:8080/v1/sales?x=1"
//     (scheme and host are dropped); optionally preceded by "GET ";
//   - an nginx/Apache combined (or common) access-log line:
//     1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET /v1/sales?x=1 HTTP/1.1" 200 512 "-" "curl/8"
// Returns nullopt for lines not to replay: blank lines, '#' comments, methods other than GET,
// and anything that does not yield a target starting with '/'.
std::optional<std::string> ParseRequestLine(std::string_view line);

// Every replayable target of `text` (a whole file), in order, at most `max_requests` (0 = all).
std::vector<std::string> ParseRequestFile(std::string_view text, size_t max_requests);

// The target without its query: "/v1/sales?x=1" → "/v1/sales".
std::string PathOf(std::string_view target);

// True when the target's query has a key that orders the rows (sort, order, order_by, sort_by).
bool QueryHasOrder(std::string_view target);

}  // namespace dram::cli
