#include "catalog/catalog_document.h"

#include <boost/json.hpp>

#include <algorithm>
#include <vector>

namespace dram::catalog {

namespace json = boost::json;

namespace {

constexpr int kFormat = 1;

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// The changed lines between two texts, from a longest-common-subsequence alignment: "-" lines of
// the old text and "+" lines of the new one, each with its line number. Catalog files are small
// (hundreds of lines), so the quadratic table is cheap; past that only a summary is printed.
void AppendLineDiff(std::string& out, std::string_view before, std::string_view after) {
  auto a = Lines(before);
  auto b = Lines(after);
  constexpr size_t kMaxCells = 4'000'000;
  if ((a.size() + 1) * (b.size() + 1) > kMaxCells) {
    out += "    (" + std::to_string(a.size()) + " → " + std::to_string(b.size()) + " lines)\n";
    return;
  }
  std::vector<std::vector<uint32_t>> common(a.size() + 1, std::vector<uint32_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1 : std::max(common[i + 1][j], common[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i, ++j;
    } else if (i < a.size() && (j == b.size() || common[i + 1][j] >= common[i][j + 1])) {
      out += "    " + std::to_string(i + 1) + " - " + std::string(a[i]) + "\n";  // removed lines first, as diff(1)
      ++i;
    } else {
      out += "    " + std::to_string(j + 1) + " + " + std::string(b[j]) + "\n";
      ++j;
    }
  }
}

std::string Bytes(int64_t size) {
  char text[32];
  if (size >= (1 << 20)) {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(size) / (1 << 20));
  } else if (size >= 1024) {
    std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(size) / 1024);
  } else {
    std::snprintf(text, sizeof text, "%lld B", static_cast<long long>(size));
  }
  return text;
}

std::string Describe(const DataRef& ref) { return Bytes(ref.size) + " sha256:" + ref.sha256.substr(0, 12); }

// Pretty enough for a line diff: one JSON member per line.
std::string RuntimeLines(const std::string& runtime) {
  if (runtime.empty()) return "";
  boost::system::error_code ec;
  json::value value = json::parse(runtime, ec);
  if (ec || !value.is_object()) return runtime;
  std::string out;
  for (const auto& [group, members] : value.as_object()) {
    if (members.is_object()) {
      for (const auto& [name, entry] : members.as_object()) out += std::string(group) + "." + std::string(name) + " = " + json::serialize(entry) + "\n";
    } else if (members.is_array()) {
      for (const auto& entry : members.as_array()) out += std::string(group) + " += " + json::serialize(entry) + "\n";
    } else {
      out += std::string(group) + " = " + json::serialize(members) + "\n";
    }
  }
  return out;
}

// Runtime state as two maps (databases by name, aliases by name) of serialized entries.
struct RuntimeMaps {
  std::map<std::string, std::string> databases, aliases;
};

RuntimeMaps MapsOf(const std::string& runtime) {
  RuntimeMaps maps;
  if (runtime.empty()) return maps;
  boost::system::error_code ec;
  json::value value = json::parse(runtime, ec);
  if (ec || !value.is_object()) return maps;
  if (const auto* databases = value.as_object().if_contains("databases"); databases && databases->is_array()) {
    for (const auto& entry : databases->as_array()) {
      const json::value* name = entry.is_object() ? entry.as_object().if_contains("name") : nullptr;
      if (name && name->is_string()) maps.databases[std::string(name->as_string())] = json::serialize(entry);
    }
  }
  if (const auto* aliases = value.as_object().if_contains("aliases"); aliases && aliases->is_object()) {
    for (const auto& [name, entry] : aliases->as_object()) maps.aliases[std::string(name)] = json::serialize(entry);
  }
  return maps;
}

void ApplyChanges(const std::map<std::string, std::string>& base, const std::map<std::string, std::string>& mine,
                  std::map<std::string, std::string>& theirs) {
  for (const auto& [name, entry] : mine) {
    auto old = base.find(name);
    if (old == base.end() || old->second != entry) theirs[name] = entry;
  }
  for (const auto& [name, entry] : base) {
    if (!mine.contains(name)) theirs.erase(name);
  }
}

}  // namespace

std::string MergeRuntime(const std::string& base, const std::string& mine, const std::string& theirs) {
  RuntimeMaps b = MapsOf(base), m = MapsOf(mine), t = MapsOf(theirs);
  ApplyChanges(b.databases, m.databases, t.databases);
  ApplyChanges(b.aliases, m.aliases, t.aliases);
  json::array databases;
  for (const auto& [name, entry] : t.databases) databases.push_back(json::parse(entry));
  json::object aliases;
  for (const auto& [name, entry] : t.aliases) aliases[name] = json::parse(entry);
  return json::serialize(json::object{{"databases", std::move(databases)}, {"aliases", std::move(aliases)}});
}

std::string DataKey(const std::string& sha256) { return "_data/" + sha256; }

Result<CatalogDocument> CatalogDocument::Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) return DataLoss("catalog document is not a JSON object");
  try {
    const json::object& object = root.as_object();
    CatalogDocument document;
    if (const auto* format = object.if_contains("format"); format && format->to_number<int64_t>() > kFormat) {
      return FailedPrecondition("catalog written by a newer dram (format " + std::to_string(format->to_number<int64_t>()) + ")");
    }
    if (const auto* files = object.if_contains("files")) {
      for (const auto& [path, content] : files->as_object()) document.files[std::string(path)] = content.as_string().c_str();
    }
    if (const auto* data = object.if_contains("data")) {
      for (const auto& [path, ref] : data->as_object()) {
        DataRef r{ref.at("sha256").as_string().c_str(), ref.at("size").to_number<int64_t>()};
        if (r.sha256.size() != 64 || r.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
          return DataLoss("catalog data reference has a malformed sha256", std::string(path));
        }
        document.data[std::string(path)] = std::move(r);
      }
    }
    if (const auto* runtime = object.if_contains("runtime"); runtime && runtime->is_object()) document.runtime = json::serialize(*runtime);
    if (const auto* message = object.if_contains("message"); message && message->is_string()) document.message = message->as_string().c_str();
    if (const auto* at = object.if_contains("created_at"); at && at->is_string()) document.created_at = at->as_string().c_str();
    return document;
  } catch (const std::exception& e) {
    return DataLoss(std::string("malformed catalog document: ") + e.what());
  }
}

std::string CatalogDocument::Serialize() const {
  json::object files_json;
  for (const auto& [path, content] : files) files_json[path] = content;
  json::object data_json;
  for (const auto& [path, ref] : data) data_json[path] = {{"sha256", ref.sha256}, {"size", ref.size}};
  json::value runtime_json = nullptr;
  if (!runtime.empty()) {
    boost::system::error_code ec;
    runtime_json = json::parse(runtime, ec);
    if (ec) runtime_json = nullptr;
  }
  return json::serialize(json::object{{"format", kFormat},          {"message", message}, {"created_at", created_at},
                                      {"files", std::move(files_json)}, {"data", std::move(data_json)},
                                      {"runtime", std::move(runtime_json)}});
}

bool CatalogDocument::SameContent(const CatalogDocument& other) const {
  return files == other.files && data == other.data && RuntimeLines(runtime) == RuntimeLines(other.runtime);
}

std::string Diff(const CatalogDocument& from, const CatalogDocument& to) {
  std::string out;
  for (const auto& [path, text] : to.files) {
    auto old = from.files.find(path);
    if (old == from.files.end()) {
      out += "+ " + path + "\n";
      AppendLineDiff(out, "", text);
    } else if (old->second != text) {
      out += "~ " + path + "\n";
      AppendLineDiff(out, old->second, text);
    }
  }
  for (const auto& [path, text] : from.files) {
    if (!to.files.contains(path)) out += "- " + path + "\n";
  }
  for (const auto& [path, ref] : to.data) {
    auto old = from.data.find(path);
    if (old == from.data.end()) {
      out += "+ " + path + "  " + Describe(ref) + "\n";
    } else if (!(old->second == ref)) {
      out += "~ " + path + "  " + Describe(old->second) + " → " + Describe(ref) + "\n";
    }
  }
  for (const auto& [path, ref] : from.data) {
    if (!to.data.contains(path)) out += "- " + path + "  " + Describe(ref) + "\n";
  }
  std::string before = RuntimeLines(from.runtime), after = RuntimeLines(to.runtime);
  if (before != after) {
    out += "~ runtime (databases and aliases changed through the admin API)\n";
    AppendLineDiff(out, before, after);
  }
  return out;
}

}  // namespace dram::catalog
