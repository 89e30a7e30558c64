#include "catalog/project_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/failpoint.h"
#include "common/sha256.h"

namespace dram::catalog {

namespace fs = std::filesystem;

namespace {

Result<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read", path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in && !in.eof()) return Unavailable("cannot read", path.string());
  return bytes.str();
}

// `path` (absolute, or relative to the working directory as the project loader gives it) relative
// to `dir`, or InvalidArgument when it is outside.
Result<std::string> RelativeInside(const fs::path& dir, const std::string& path) {
  fs::path full = fs::absolute(path);
  std::string relative = full.lexically_normal().lexically_relative(dir.lexically_normal()).generic_string();
  if (relative.empty() || relative == "." || relative.starts_with("../") || relative == "..") {
    return InvalidArgument("file is outside the project directory (put such data in a store and name it by URI)", path);
  }
  return relative;
}

// Writes `bytes` to `path` through a temp file and a rename, fsynced: a reader sees the old
// file or the new one.
Status WriteAtomically(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::string temp = path.string() + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("cannot write", path.string());
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  bool ok = written == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Unavailable("cannot write", path.string());
  }
  return Status::Ok();
}

// Fetches one data object into the content cache, checked against its digest.
Status FetchObject(store::ObjectStore& store, const DataRef& ref, const fs::path& object) {
  struct stat info {};
  if (::stat(object.c_str(), &info) == 0 && info.st_size == ref.size) return Status::Ok();
  ASSIGN_OR_RETURN(std::string bytes, store.Get(DataKey(ref.sha256)));
  if (static_cast<int64_t>(bytes.size()) != ref.size || common::Sha256Hex(bytes) != ref.sha256) {
    return DataLoss("data object does not match its digest", DataKey(ref.sha256));
  }
  return WriteAtomically(object, bytes);
}

}  // namespace

Result<CatalogDocument> ReadProject(const std::string& dir_text, const std::vector<std::string>& extra_text_files,
                                    const std::vector<std::string>& data_files) {
  const fs::path dir = fs::absolute(dir_text).lexically_normal();
  CatalogDocument document;
  std::vector<std::string> texts;
  if (fs::exists(dir / "dram.yml")) texts.push_back("dram.yml");
  for (const char* sub : {"datasets", "endpoints"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir / sub, ec)) {
      auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) texts.push_back(std::string(sub) + "/" + entry.path().filename().string());
    }
  }
  for (const auto& extra : extra_text_files) {
    if (extra.empty() || !fs::exists(extra)) continue;
    ASSIGN_OR_RETURN(std::string relative, RelativeInside(dir, extra));
    texts.push_back(relative);
  }
  for (const auto& relative : texts) {
    ASSIGN_OR_RETURN(document.files[relative], ReadWhole(dir / relative));
  }
  for (const auto& file : data_files) {
    ASSIGN_OR_RETURN(std::string relative, RelativeInside(dir, file));
    ASSIGN_OR_RETURN(std::string bytes, ReadWhole(dir / relative));
    document.data[relative] = DataRef{common::Sha256Hex(bytes), static_cast<int64_t>(bytes.size())};
  }
  return document;
}

Result<std::set<std::string>> UploadData(store::ObjectStore& store, const std::string& dir, const CatalogDocument& document,
                                         const CatalogDocument& newest) {
  std::set<std::string> pinned;
  for (const auto& [path, ref] : newest.data) pinned.insert(ref.sha256);
  std::set<std::string> uploaded;
  for (const auto& [path, ref] : document.data) {
    if (pinned.contains(ref.sha256) || uploaded.contains(ref.sha256)) continue;
    // An object no version references may be collected soon: write it again (same bytes), which
    // renews its age, rather than trust that it stays.
    common::Failpoint("apply.before_upload");
    ASSIGN_OR_RETURN(std::string bytes, ReadWhole(fs::path(dir) / path));
    if (common::Sha256Hex(bytes) != ref.sha256) return FailedPrecondition("file changed while it was being applied", path);
    auto put = store.Put(DataKey(ref.sha256), bytes);
    if (!put.ok()) return put.status();
    uploaded.insert(ref.sha256);
    common::Failpoint("apply.after_upload");
  }
  return uploaded;
}

Result<std::string> ReadDataFile(const std::string& dir, const std::string& path) {
  RETURN_IF_ERROR(store::CheckKey(path));
  return ReadWhole(fs::path(dir) / path);
}

Status SyncTree(store::ObjectStore& store, const CatalogDocument& document, const std::string& tree_text,
                const std::string& objects_text) {
  const fs::path tree(tree_text), objects(objects_text);
  std::error_code ec;
  fs::create_directories(tree, ec);
  fs::create_directories(objects, ec);
  for (const auto& [path, text] : document.files) {
    RETURN_IF_ERROR(store::CheckKey(path));  // a catalog cannot write outside the tree
    auto existing = ReadWhole(tree / path);
    if (existing.ok() && *existing == text) continue;
    RETURN_IF_ERROR(WriteAtomically(tree / path, text));
  }
  for (const auto& [path, ref] : document.data) {
    RETURN_IF_ERROR(store::CheckKey(path));
    fs::path object = objects / ref.sha256;
    RETURN_IF_ERROR(FetchObject(store, ref, object));
    fs::path target = tree / path;
    struct stat have {}, want {};
    if (::stat(object.c_str(), &want) != 0) return Unavailable("cannot stat a cached object", object.string());
    if (::stat(target.c_str(), &have) == 0 && have.st_ino == want.st_ino && have.st_dev == want.st_dev) continue;
    fs::create_directories(target.parent_path(), ec);
    std::string temp = target.string() + ".tmp-" + std::to_string(::getpid());
    ::unlink(temp.c_str());
    if (::link(object.c_str(), temp.c_str()) != 0) {
      fs::copy_file(object, temp, fs::copy_options::overwrite_existing, ec);
      if (ec) return Unavailable("cannot place a data file", target.string());
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      ::unlink(temp.c_str());
      return Unavailable("cannot place a data file", target.string());
    }
  }
  // Whatever the document does not name goes: a stale data file would be matched by a glob.
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(tree, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code stat_error;
    if (!it->is_regular_file(stat_error)) continue;
    std::string relative = it->path().lexically_relative(tree).generic_string();
    if (!document.files.contains(relative) && !document.data.contains(relative)) stale.push_back(it->path());
  }
  for (const auto& path : stale) fs::remove(path, ec);
  return Status::Ok();
}

}  // namespace dram::catalog
