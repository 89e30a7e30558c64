#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dram/status.h"
#include "store/object_store.h"
#include "store/s3_object_store.h"

namespace dram::store {

// Reads one environment variable (injectable so tests need not touch the process environment).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();

// Opens the store a URI names:
//   /abs/dir, rel/dir, file:///abs/dir   a local directory
//   s3://bucket[/prefix]                 S3 or an S3-compatible server
//   gs://bucket[/prefix]                 GCS through its XML API with HMAC keys
//   https://host/path, http://host/path  read-only
// Credentials and endpoints come from the environment only (see S3ConfigFromUri).
Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri, const EnvLookup& env = ProcessEnvironment());

// The S3 settings for an s3:// or gs:// URI, the way AWS tools read them:
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the shared credentials file
//   (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or "default");
//   AWS_REGION or AWS_DEFAULT_REGION (default us-east-1);
//   AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL: a custom endpoint, addressed path-style; without one,
//   AWS itself, virtual-hosted style.
// gs:// uses GCS_ACCESS_KEY_ID / GCS_SECRET_ACCESS_KEY (HMAC keys) when set, else the AWS ones,
// and https://storage.googleapis.com unless GCS_ENDPOINT_URL says otherwise.
Result<S3Config> S3ConfigFromUri(std::string_view uri, const EnvLookup& env);

// True when `uri` names a local directory (a path or file://).
bool IsLocalUri(std::string_view uri);

}  // namespace dram::store
