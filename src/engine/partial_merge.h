#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dram/status.h"
#include "engine/result_encoder.h"
#include "engine/type_info.h"

namespace dram::engine {

// The reduce of a declarative endpoint over shards, done without a query: group the partials'
// rows by key columns, add sums and counts, keep mins and maxes, divide an average's sum by its
// count, order, cut the page. Every one of these is plain, yet DuckDB's reduce query costs a fixed
// ~0.6 ms (planning, pipelines, hash tables) however few rows there are, and 1.1-1.5 ms on a member
// whose map steps churn the caches (bench/distributed.sh's Server-Timing); this costs tens of µs
// (bench/reduce_bench.cc). It gives exactly what that query would (the same types, the same
// values, the same order; the same encoder writes them) or refuses, and the caller runs the query.
struct PartialMerge {
  enum class Op {
    kValue,  // the column as it is: a key of the group, or a column of the row
    kSum,    // the column added up over the group (shards' sums, shards' counts)
    kMin,
    kMax,
    kAvg,    // the column's sum ÷ count_column's sum, a DOUBLE
  };
  struct Output {
    std::string name;  // as answered
    Op op = Op::kValue;
    size_t column = 0;        // the partials' column it reads
    size_t count_column = 0;  // kAvg: the counts
    // kSum, kMin, kMax: the answer's type (DuckDB's name, as ColumnInfo spells it), which the
    // query casts to; the merge gives only the column's own type. kAvg: DOUBLE. kValue: unused.
    std::string type;
  };
  struct Order {
    size_t output = 0;  // index into outputs
    bool descending = false;
  };
  // Rows with equal keys become one row (NULL keys equal each other, as GROUP BY has it); with no
  // keys, all rows become one, even none. Not grouped: each row stays one.
  bool grouped = false;
  std::vector<size_t> keys;
  std::vector<Output> outputs;  // the first `answered` are the answer, in order; the rest only order it
  size_t answered = 0;
  std::vector<Order> order;  // NULLs last either way, as DuckDB orders by default; total (see MergePartials)
  int64_t limit = 0;
  int64_t offset = 0;
};

struct MergedPartials {
  std::vector<ColumnInfo> columns;
  size_t rows = 0;    // answered
  size_t groups = 0;  // before the page was cut (the total of a grouped merge)
};

// Merges `payloads` (dram's columnar wire format, all of one header) as `merge` says and appends
// the answer to `out` in `format`. The answer is the query's only if the order is total (as
// PlanShards makes it): DuckDB's sort is not stable, the merge breaks ties by first appearance.
// Errors: Unimplemented when the merge cannot promise the query's exact answer (a FLOAT or DOUBLE
// key, which DuckDB's hash may group otherwise; a sum past its type's range or of a type other
// than integers, DECIMALs and DOUBLEs; an average whose sum or count is past 2^53; an answer type
// that is not the column's; a UHUGEINT or TIME_TZ compared), for the caller to run the query
// instead; InvalidArgument for payloads of different headers or merge steps that do not fit them
// (columns that are not there, more keys or outputs than the columns allow, nothing answered, a
// negative limit or offset); DataLoss for a corrupt payload.
Result<MergedPartials> MergePartials(const PartialMerge& merge, const std::vector<std::string_view>& payloads, Format format,
                                     std::string& out);

}  // namespace dram::engine
