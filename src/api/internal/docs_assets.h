#pragma once

#include <string_view>

namespace dram::api::internal {

// Redoc's standalone bundle (third_party/redoc, fetched by scripts/fetch_redoc.sh), compiled
// into the binary by cmake/embed_file.cmake. Static storage; thread-safe.
std::string_view RedocStandaloneJs();

}  // namespace dram::api::internal
