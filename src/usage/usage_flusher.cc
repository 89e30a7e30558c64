#include "usage/usage_flusher.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "common/barrier.h"
#include "common/civil_time.h"
#include "common/json_text.h"
#include "common/log.h"
#include "usage/usage_file.h"

namespace dram::usage {

namespace {

std::string RandomHex() {
  std::random_device random;
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", static_cast<unsigned>(random()));
  return text;
}

}  // namespace

UsageFlusher::UsageFlusher(UsageRecorder& recorder, std::unique_ptr<store::ObjectStore> store, UsageFlusherOptions options)
    : recorder_(recorder), store_(std::move(store)), options_(std::move(options)), unique_(RandomHex()) {}

UsageFlusher::~UsageFlusher() { Stop(); }

void UsageFlusher::Start() {
  common::MutexLock lock(run_mu_);
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { common::RunLoopBarrier("usage flusher", [this] { Run(); }); });
}

void UsageFlusher::Stop() {
  {
    common::MutexLock lock(run_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  wake_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  Status flushed = FlushNow();
  if (!flushed.ok()) {
    std::string detail;
    common::AppendJsonString(detail, flushed.ToString());
    common::Log(common::LogLevel::kError, "usage records lost at shutdown: the store did not take them", "\"error\":" + detail);
  }
  std::error_code ignored;
  std::filesystem::remove_all(options_.scratch_dir, ignored);  // this process's own
}

void UsageFlusher::Run() {
  const int64_t interval_ms = std::max<int64_t>(1, options_.interval.count());
  for (;;) {
    // The next multiple of the interval in wall-clock time: every member flushes the same minute.
    const int64_t now_ms = common::WallMillis();
    const int64_t next_ms = (now_ms / interval_ms + 1) * interval_ms;
    const auto deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(next_ms));
    {
      common::MutexLock lock(run_mu_);
      if (wake_.WaitUntil(run_mu_, deadline, [this]() REQUIRES(run_mu_) { return stopping_; })) return;
    }
    Status flushed = FlushNow();
    if (!flushed.ok()) {
      std::string detail;
      common::AppendJsonString(detail, flushed.ToString());
      common::Log(common::LogLevel::kWarn, "usage flush failed; kept for the next one", "\"error\":" + detail);
    }
  }
}

Status UsageFlusher::FlushNow() {
  common::MutexLock lock(flush_mu_);
  UsageInterval interval = recorder_.TakeInterval(common::WallMillis());
  if (!interval.rows.empty()) {
    std::string key = UsageObjectKey(interval.start_ms, options_.member, unique_ + "-" + std::to_string(sequence_++));
    pending_.push_back(Pending{std::move(interval), std::move(key)});
  }
  while (pending_.size() > options_.max_pending) {
    ++dropped_;
    common::Log(common::LogLevel::kError, "usage interval dropped: too many waiting for the store",
                "\"key\":\"" + pending_.front().key + "\"");
    pending_.pop_front();
  }
  while (!pending_.empty()) {
    const Pending& next = pending_.front();
    auto bytes = EncodeUsageParquet(next.interval, options_.member, options_.scratch_dir);
    Status status = bytes.ok() ? store_->Put(next.key, *bytes).status() : bytes.status();
    if (!status.ok()) {
      ++failures_;
      pending_count_ = static_cast<int64_t>(pending_.size());
      return status;
    }
    ++files_written_;
    rows_written_ += static_cast<int64_t>(next.interval.rows.size());
    last_success_ms_ = common::WallMillis();
    pending_.pop_front();
  }
  pending_count_ = static_cast<int64_t>(pending_.size());
  return Status::Ok();
}

void UsageFlusher::RenderMetrics(std::string& out) const {
  auto line = [&](const char* name, const char* type, const char* help, double value) {
    char number[32];
    std::snprintf(number, sizeof(number), "%.17g", value);
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type);
    out.append("\n").append(name).append(" ").append(number).append("\n");
  };
  line("dram_usage_files_written_total", "counter", "Usage files written to the store.", static_cast<double>(files_written_.load()));
  line("dram_usage_rows_written_total", "counter", "Usage rows written to the store.", static_cast<double>(rows_written_.load()));
  line("dram_usage_flush_failures_total", "counter", "Usage flushes the store did not take (retried).",
       static_cast<double>(failures_.load()));
  line("dram_usage_dropped_intervals_total", "counter", "Usage intervals dropped after too many failed flushes.",
       static_cast<double>(dropped_.load()));
  line("dram_usage_pending_intervals", "gauge", "Usage intervals waiting for the store.", static_cast<double>(pending_count_.load()));
  line("dram_usage_last_flush_timestamp_seconds", "gauge", "When usage was last written to the store (0: never).",
       static_cast<double>(last_success_ms_.load()) / 1000.0);
}

}  // namespace dram::usage
