#include "store/resumable_get.h"

namespace dram::store {

Status ResumableGet(const RetryPolicy& policy, std::optional<ByteRange> range, const ByteSink& sink, const SendGet& send,
                    const std::function<Status(const HttpReply&)>& error_of, const std::string& what) {
  if (range && range->length == 0) return Status::Ok();
  if (range && range->offset < 0) return OutOfRange("negative range offset", what);
  int64_t delivered = 0;
  ByteSink counting = [&](std::string_view chunk) {
    delivered += static_cast<int64_t>(chunk.size());
    return sink(chunk);
  };
  return WithRetries(policy, [&]() -> Status {
    const int64_t offset = (range ? range->offset : 0) + delivered;
    const bool bounded = range && range->length >= 0;
    if (bounded && delivered >= range->length) return Status::Ok();
    std::string range_header;
    if (offset > 0 || bounded) {
      range_header = "bytes=" + std::to_string(offset) + "-" + (bounded ? std::to_string(range->offset + range->length - 1) : "");
    }
    const int64_t before = delivered;
    ASSIGN_OR_RETURN(HttpReply reply, send(range_header, counting));
    if (reply.status == 416 && !bounded && before > 0) return Status::Ok();  // resumed exactly at the end
    if (reply.status / 100 != 2) return error_of(reply);
    if (reply.status == 200 && !range_header.empty()) return Internal("the server ignored the Range header", what);
    if (const std::string* length = reply.Header("content-length")) {
      if (std::atoll(length->c_str()) != delivered - before) return Unavailable("truncated response", what);
    }
    return Status::Ok();
  });
}

}  // namespace dram::store
