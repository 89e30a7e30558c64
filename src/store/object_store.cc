#include "store/object_store.h"

namespace dram::store {

Result<std::string> ObjectStore::Get(const std::string& key, std::optional<ByteRange> range) {
  std::string bytes;
  ByteSink append = [&bytes](std::string_view chunk) {
    bytes.append(chunk);
    return true;
  };
  RETURN_IF_ERROR(Read(key, range, append));
  return bytes;
}

Status CheckKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.find('\0') != std::string::npos) return InvalidArgument("bad object key");
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string::npos) slash = key.size();
    std::string_view segment(key.data() + start, slash - start);
    if (segment.empty() || segment == "." || segment == "..") return InvalidArgument("bad object key");
    start = slash + 1;
  }
  return Status::Ok();
}

}  // namespace dram::store
