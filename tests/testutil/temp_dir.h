#pragma once

#include <string>

namespace dram::testing {

// A directory under /tmp removed (with its contents) when this object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/relative, creating directories.
  void Write(const std::string& relative, const std::string& content) const;

 private:
  std::string path_;
};

// The whole text of a file; empty when it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace dram::testing
