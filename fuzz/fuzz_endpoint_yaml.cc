// Fuzzes the project loader with arbitrary endpoint YAML (next to a fixed, valid dataset).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/project.h"

namespace {
const std::filesystem::path& Project() {
  static const std::filesystem::path dir = [] {
    auto path = std::filesystem::temp_directory_path() / ("dram-fuzz-yaml-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path / "datasets");
    std::filesystem::create_directories(path / "endpoints");
    std::ofstream(path / "datasets" / "d.yml") << "name: d\ntables:\n  t: {path: t.csv}\n";
    return path;
  }();
  return dir;
}
}  // namespace

// Fixtures are built before the first input, so libFuzzer's per-input leak check does not count
// objects that live for the whole run.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Project();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(Project() / "endpoints" / "e.yml", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  dram::common::Diagnostics diagnostics;
  dram::api::ProjectSpec project = dram::api::LoadProject(Project().string(), diagnostics);
  // Every problem must come with a position inside the file.
  for (const auto& d : diagnostics.items()) {
    if (d.file.empty()) __builtin_trap();
  }
  return 0;
}
