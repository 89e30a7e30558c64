#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace dram::http {

// Compresses `response`'s body into a gzip member, reusing the shared part's memoized deflate
// stream so only the tail is compressed per response. Returns the complete gzip bytes.
std::string GzipBody(const Response& response);

}  // namespace dram::http
