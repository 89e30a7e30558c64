#pragma once

#include <functional>
#include <optional>
#include <string>

#include "store/http_transport.h"
#include "store/object_store.h"
#include "store/retry.h"

namespace dram::store {

// Sends one GET attempt: `range_header` is the Range value to send ("" for none); the reply's
// body must go to `sink` (HttpCall::sink, with sink_status 206 when a range is sent).
using SendGet = std::function<Result<HttpReply>(const std::string& range_header, const ByteSink& sink)>;

// A GET of an object or a range of it, retried per `policy`. Bytes already handed to `sink`
// survive a failed attempt: the retry asks only for the rest (so a download that broke at 90%
// does not start over, and the sink never sees a byte twice). Checks what a server can get
// wrong: a 200 to a ranged request (Range ignored) and a body shorter than its Content-Length.
// `error_of` maps a non-2xx reply; `what` names the object in errors.
Status ResumableGet(const RetryPolicy& policy, std::optional<ByteRange> range, const ByteSink& sink, const SendGet& send,
                    const std::function<Status(const HttpReply&)>& error_of, const std::string& what);

}  // namespace dram::store
