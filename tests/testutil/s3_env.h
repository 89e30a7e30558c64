#pragma once

#include <map>
#include <string>

#include "store/store_uri.h"

namespace dram::testing {

// The environment of the S3 server the test fixture started (scripts/s3_server.sh writes it;
// ctest passes its path in DRAM_TEST_S3_ENV). Aborts the test binary when it is missing: these
// tests must not pass by skipping.
const std::map<std::string, std::string>& S3TestEnvironment();
// An EnvLookup over S3TestEnvironment(), plus `overrides`.
store::EnvLookup S3TestLookup(std::map<std::string, std::string> overrides = {});
// "s3://<bucket>/<prefix>".
std::string S3TestUri(const std::string& prefix);

}  // namespace dram::testing
