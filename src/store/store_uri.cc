#include "store/store_uri.h"

#include <cstdlib>
#include <fstream>

#include "store/https_object_store.h"
#include "store/local_object_store.h"

namespace dram::store {

namespace {

std::string Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return std::string(text);
}

// Reads one profile of an AWS shared credentials file (INI).
void ReadSharedCredentials(const EnvLookup& env, SigV4Credentials& credentials) {
  std::string path;
  if (auto file = env("AWS_SHARED_CREDENTIALS_FILE")) {
    path = *file;
  } else if (auto home = env("HOME")) {
    path = *home + "/.aws/credentials";
  } else {
    return;
  }
  const std::string profile = env("AWS_PROFILE").value_or("default");
  std::ifstream in(path);
  std::string line;
  bool in_profile = false;
  while (std::getline(in, line)) {
    std::string text = Trimmed(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[') {
      in_profile = text == "[" + profile + "]";
      continue;
    }
    size_t equals = text.find('=');
    if (!in_profile || equals == std::string::npos) continue;
    std::string name = Trimmed(std::string_view(text).substr(0, equals));
    std::string value = Trimmed(std::string_view(text).substr(equals + 1));
    if (name == "aws_access_key_id") credentials.access_key_id = value;
    if (name == "aws_secret_access_key") credentials.secret_access_key = value;
    if (name == "aws_session_token") credentials.session_token = value;
  }
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

bool IsLocalUri(std::string_view uri) { return uri.find("://") == std::string_view::npos || uri.starts_with("file://"); }

Result<S3Config> S3ConfigFromUri(std::string_view uri, const EnvLookup& env) {
  S3Config config;
  const bool gcs = uri.starts_with("gs://");
  if (!gcs && !uri.starts_with("s3://")) return InvalidArgument("not an s3:// or gs:// URI", uri);
  std::string_view rest = uri.substr(5);
  size_t slash = rest.find('/');
  config.bucket = std::string(rest.substr(0, slash));
  if (config.bucket.empty()) return InvalidArgument("the URI names no bucket", uri);
  std::string prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  while (prefix.ends_with('/')) prefix.pop_back();
  if (!prefix.empty()) {
    RETURN_IF_ERROR(CheckKey(prefix));
    config.prefix = prefix + "/";
  }
  if (gcs) {
    config.flavor = S3Config::Flavor::kGcs;
    config.region = "auto";
    config.endpoint = NonEmpty(env, "GCS_ENDPOINT_URL").value_or("https://storage.googleapis.com");
    config.path_style = true;
    config.credentials.access_key_id = NonEmpty(env, "GCS_ACCESS_KEY_ID").value_or("");
    config.credentials.secret_access_key = NonEmpty(env, "GCS_SECRET_ACCESS_KEY").value_or("");
  } else {
    config.region = NonEmpty(env, "AWS_REGION").value_or(NonEmpty(env, "AWS_DEFAULT_REGION").value_or("us-east-1"));
    auto endpoint = NonEmpty(env, "AWS_ENDPOINT_URL_S3");
    if (!endpoint) endpoint = NonEmpty(env, "AWS_ENDPOINT_URL");
    config.path_style = endpoint.has_value();
    config.endpoint = endpoint.value_or("https://s3." + config.region + ".amazonaws.com");
  }
  if (config.credentials.access_key_id.empty()) {
    config.credentials.access_key_id = NonEmpty(env, "AWS_ACCESS_KEY_ID").value_or("");
    config.credentials.secret_access_key = NonEmpty(env, "AWS_SECRET_ACCESS_KEY").value_or("");
    config.credentials.session_token = NonEmpty(env, "AWS_SESSION_TOKEN").value_or("");
  }
  if (config.credentials.access_key_id.empty()) ReadSharedCredentials(env, config.credentials);
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    return InvalidArgument(
        "no credentials for the store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a shared credentials file)",
        uri);
  }
  return config;
}

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri, const EnvLookup& env) {
  if (uri.empty()) return InvalidArgument("empty store URI");
  if (IsLocalUri(uri)) {
    std::string_view path = uri.starts_with("file://") ? uri.substr(7) : uri;
    if (path.empty()) return InvalidArgument("file:// URI without a path", uri);
    return std::unique_ptr<ObjectStore>(std::make_unique<LocalObjectStore>(std::string(path)));
  }
  if (uri.starts_with("s3://") || uri.starts_with("gs://")) {
    ASSIGN_OR_RETURN(S3Config config, S3ConfigFromUri(uri, env));
    return std::unique_ptr<ObjectStore>(std::make_unique<S3ObjectStore>(std::move(config)));
  }
  if (uri.starts_with("https://") || uri.starts_with("http://")) {
    return std::unique_ptr<ObjectStore>(std::make_unique<HttpsObjectStore>(std::string(uri)));
  }
  return InvalidArgument("unknown store URI scheme (use a path, file://, s3://, gs:// or https://)", uri);
}

}  // namespace dram::store
