#include "engine/partial_merge.h"

#include <duckdb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "engine/columnar_format.h"
#include "engine/columnar_scan.h"
#include "engine/duckdb_types.h"
#include "engine/encode_chunks.h"

namespace dram::engine {

namespace {

using internal::ColumnarColumn;
using internal::ColumnarHeader;
using internal::OwnedDataChunk;
using internal::OwnedLogicalType;
using Op = PartialMerge::Op;

// How a column's values compare, as DuckDB compares them.
enum class Kind {
  kSigned,    // two's complement of the column's width (ints, DECIMAL of one scale, DATE, TIME,
              // TIMESTAMPs, UUID: DuckDB's hugeint with the top bit flipped so that it sorts so)
  kUnsigned,  // BOOLEAN, unsigned ints, ENUM (by index: DuckDB orders an ENUM by its dictionary)
  kString,    // VARCHAR, byte by byte (no collation in the reducer)
  kReal,      // FLOAT, DOUBLE: -0.0 equals 0.0 and NaN is above everything, as DuckDB compares them;
              // never grouped by here (whether DuckDB's hash puts -0.0 and 0.0 together is its own)
  kOther,     // not compared here: UHUGEINT, TIME_TZ (by instant, not bits)
};

Kind KindOf(const ColumnarColumn& column) {
  switch (column.type_id) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_ENUM:
      return Kind::kUnsigned;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIME:
    case DUCKDB_TYPE_TIME_NS:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
    case DUCKDB_TYPE_UUID:
      return Kind::kSigned;
    case DUCKDB_TYPE_VARCHAR:
      return Kind::kString;
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
      return Kind::kReal;
    default:
      return Kind::kOther;
  }
}

// Whether sums of the column are exact integers here (DuckDB's sum of ints is HUGEINT, of a
// DECIMAL a DECIMAL(38, scale): both add as 128-bit integers). DOUBLEs sum apart (SumsReals).
bool Summable(const ColumnarColumn& column) {
  switch (column.type_id) {
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_DECIMAL:
      return true;
    default:
      return false;
  }
}

// 10^0 … 10^22, each exact as a DOUBLE.
constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// DuckDB's sum of DOUBLEs, run on one thread as the reducer's is (api::ShardReducer opens its
// database with threads = 1; with more, DuckDB's hash aggregate may combine partial states in
// another order): from 0.0, adding each value in the order read (so -0.0 alone sums to 0.0).
bool SumsReals(const ColumnarColumn& column) { return column.type_id == DUCKDB_TYPE_DOUBLE; }

double LoadReal(const char* at, size_t width) {
  if (width == sizeof(float)) {
    float v;
    std::memcpy(&v, at, sizeof(v));
    return v;
  }
  double v;
  std::memcpy(&v, at, sizeof(v));
  return v;
}

__int128 LoadNumber(const char* at, size_t width, bool is_signed) {
  // (Unsigned columns here are 1 to 8 bytes: UHUGEINT is not compared.)
  return is_signed ? internal::LoadSigned(at, width) : static_cast<__int128>(internal::LoadUnsigned(at, width));
}

// Whether `value` is a value of the column's type (a sum's result must be one).
bool FitsColumn(__int128 value, const ColumnarColumn& column) {
  if (column.type_id == DUCKDB_TYPE_DECIMAL) {
    const auto limit = static_cast<__int128>(internal::DecimalLimit(column.decimal_width));
    if (value >= limit || value <= -limit) return false;
  }
  if (column.width >= 16) return true;
  const __int128 max = (static_cast<__int128>(1) << (8 * column.width - 1)) - 1;
  return value <= max && value >= -max - 1;
}

// Row `row` of a VARCHAR vector's data (the view points into the vector, which outlives it).
std::string_view StringAt(const char* data, size_t row) {
  return internal::StringAt(reinterpret_cast<const duckdb_string_t*>(data)[row]);
}

// The partials' rows, decoded into DuckDB chunks (checked as ColumnarTableFunction checks them).
struct Rows {
  struct Column {
    const char* data;
    const uint64_t* validity;  // nullptr: every row valid
  };
  std::deque<OwnedLogicalType> types;  // the header's, in order
  std::vector<std::unique_ptr<OwnedDataChunk>> chunks;
  std::vector<std::vector<Column>> columns;  // [chunk][column]

  bool Valid(uint32_t chunk, uint32_t row, size_t column) const {
    const uint64_t* validity = columns[chunk][column].validity;
    return !validity || ((validity[row >> 6] >> (row & 63)) & 1);
  }
  const char* At(uint32_t chunk, uint32_t row, size_t column, size_t width) const {
    return columns[chunk][column].data + static_cast<size_t>(row) * width;
  }
};

Status CreateTypes(const ColumnarHeader& header, Rows& rows) {
  for (const auto& column : header.columns) {
    ASSIGN_OR_RETURN(duckdb_logical_type type, internal::CreateColumnType(column));
    rows.types.emplace_back(type);
  }
  return Status::Ok();
}

Status ReadRows(const ColumnarHeader& header, const std::vector<std::string_view>& payloads, Rows& rows) {
  std::vector<duckdb_logical_type> types;
  for (const auto& type : rows.types) types.push_back(type.type);
  internal::ColumnarScan scan(header, payloads);
  for (;;) {
    auto chunk = std::make_unique<OwnedDataChunk>(duckdb_create_data_chunk(types.data(), types.size()));
    ASSIGN_OR_RETURN(const size_t filled, scan.Fill(chunk->chunk));
    if (filled == 0) break;
    std::vector<Rows::Column> columns;
    for (size_t col = 0; col < types.size(); ++col) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(chunk->chunk, col);
      columns.push_back({static_cast<const char*>(duckdb_vector_get_data(vector)), duckdb_vector_get_validity(vector)});
    }
    rows.columns.push_back(std::move(columns));
    rows.chunks.push_back(std::move(chunk));
  }
  return Status::Ok();
}

struct RowRef {
  uint32_t chunk = 0;
  uint32_t row = 0;
};

// Groups by their keys' bytes: open addressing, 8 bytes a slot, kept at most half full. A
// std::unordered_map of std::string keys cost a node and a cache miss per group (half the merge's
// time at 4 × 5,000 groups, perf); so did a table sized for every row.
class GroupTable {
 public:
  // The group of `key`, or `make()`'s new one (numbered 0, 1, … in the order made).
  template <typename Make>
  uint32_t Find(std::string_view key, Make&& make) {
    const auto hash = static_cast<uint32_t>(std::hash<std::string_view>{}(key));
    for (size_t at = hash & (slots_.size() - 1);; at = (at + 1) & (slots_.size() - 1)) {
      Slot& slot = slots_[at];
      if (slot.group == kEmpty) {
        slot = {hash, make()};
        hashes_.push_back(hash);
        keys_.append(key);
        key_ends_.push_back(keys_.size());
        if (hashes_.size() * 2 > slots_.size()) Grow();
        return static_cast<uint32_t>(hashes_.size() - 1);
      }
      if (slot.hash == hash && KeyOf(slot.group) == key) return slot.group;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint32_t hash = 0;
    uint32_t group = kEmpty;
  };
  std::string_view KeyOf(uint32_t group) const {
    const size_t begin = group == 0 ? 0 : key_ends_[group - 1];
    return std::string_view(keys_).substr(begin, key_ends_[group] - begin);
  }
  void Grow() {
    std::vector<Slot> slots(slots_.size() * 2);
    for (uint32_t group = 0; group < hashes_.size(); ++group) {
      size_t at = hashes_[group] & (slots.size() - 1);
      while (slots[at].group != kEmpty) at = (at + 1) & (slots.size() - 1);
      slots[at] = {hashes_[group], group};
    }
    slots_ = std::move(slots);
  }

  std::vector<Slot> slots_ = std::vector<Slot>(256);
  std::vector<uint32_t> hashes_;  // per group
  std::string keys_;              // every group's key, back to back
  std::vector<size_t> key_ends_;  // per group: where its key ends in keys_
};

// One output's state for one group.
struct Accumulator {
  bool valid = false;  // a non-NULL value was seen (kAvg: in the sums)
  __int128 sum = 0;    // kSum, kAvg
  double real_sum = 0;  // kSum, kAvg of DOUBLEs (SumsReals)
  bool count_valid = false;
  __int128 count = 0;  // kAvg
  RowRef best;         // kMin, kMax: the row holding it
};

// A value to order by.
struct Cell {
  bool valid = false;
  __int128 number = 0;
  std::string_view text;
  double real = 0;
};

enum class Compare { kNumber, kText, kReal };

Compare CompareOf(Kind kind) {
  return kind == Kind::kString ? Compare::kText : kind == Kind::kReal ? Compare::kReal : Compare::kNumber;
}

int CompareCells(const Cell& a, const Cell& b, Compare how) {
  switch (how) {
    case Compare::kNumber: return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    case Compare::kText: { const int c = a.text.compare(b.text); return c < 0 ? -1 : c > 0 ? 1 : 0; }
    default: {
      const bool a_nan = std::isnan(a.real), b_nan = std::isnan(b.real);
      if (a_nan || b_nan) return a_nan == b_nan ? 0 : a_nan ? 1 : -1;
      return a.real < b.real ? -1 : a.real > b.real ? 1 : 0;
    }
  }
}

// Checks what `merge` asks of `header`'s columns; Unimplemented for what is not exact here.
// Runs before any payload is decoded: merge steps may come from another member (the smart
// client's), so their sizes are bounded by the partials' columns, not only their indexes.
Status CheckMerge(const PartialMerge& merge, const ColumnarHeader& header, const Rows& rows) {
  const size_t n = header.columns.size();
  if (merge.keys.size() > n || merge.outputs.size() > 2 * n + 16 || merge.order.size() > merge.outputs.size()) {
    return InvalidArgument("a merge has more keys, outputs or order items than its partials have columns for");
  }
  if (merge.answered == 0) return InvalidArgument("a merge answers no column");
  if (merge.limit < 0 || merge.offset < 0) return InvalidArgument("a merge's limit and offset are not negative");
  for (size_t k = 0; k < merge.keys.size(); ++k) {
    const size_t key = merge.keys[k];
    if (key >= n) return InvalidArgument("a merge groups by a column the partials do not have");
    if (std::find(merge.keys.begin(), merge.keys.begin() + static_cast<std::ptrdiff_t>(k), key) !=
        merge.keys.begin() + static_cast<std::ptrdiff_t>(k)) {
      return InvalidArgument("a merge groups by a column twice");
    }
    const Kind kind = KindOf(header.columns[key]);
    if (kind == Kind::kOther || kind == Kind::kReal) return Unimplemented("not grouped here by this type", header.columns[key].name);
  }
  if (merge.answered > merge.outputs.size()) return InvalidArgument("a merge answers more outputs than it has");
  for (size_t i = 0; i < merge.outputs.size(); ++i) {
    const auto& output = merge.outputs[i];
    if (output.column >= n || (output.op == Op::kAvg && output.count_column >= n)) {
      return InvalidArgument("a merge reads a column the partials do not have", output.name);
    }
    const ColumnarColumn& column = header.columns[output.column];
    const std::string own_type = internal::DescribeType(rows.types[output.column].type).sql_name;
    switch (output.op) {
      case Op::kValue:
        if (!merge.grouped || std::find(merge.keys.begin(), merge.keys.end(), output.column) != merge.keys.end()) break;
        return InvalidArgument("a grouped merge answers a column it neither groups by nor aggregates", output.name);
      case Op::kSum:
        if (!(Summable(column) || SumsReals(column)) || output.type != own_type) return Unimplemented("not summed here", output.name);
        break;
      case Op::kMin:
      case Op::kMax:
        if (KindOf(column) == Kind::kOther || output.type != own_type) return Unimplemented("not compared here", output.name);
        break;
      case Op::kAvg: {
        const ColumnarColumn& counts = header.columns[output.count_column];
        if (!(Summable(column) || SumsReals(column)) || !Summable(counts) || counts.type_id == DUCKDB_TYPE_DECIMAL ||
            output.type != "DOUBLE") {
          return Unimplemented("not averaged here", output.name);
        }
        break;
      }
    }
    if (output.op != Op::kValue && !merge.grouped) return InvalidArgument("an aggregate in a merge that does not group", output.name);
  }
  for (const auto& item : merge.order) {
    if (item.output >= merge.outputs.size()) return InvalidArgument("a merge orders by an output it does not have");
    const auto& output = merge.outputs[item.output];
    if ((output.op == Op::kValue || output.op == Op::kMin || output.op == Op::kMax) &&
        KindOf(header.columns[output.column]) == Kind::kOther) {
      return Unimplemented("not ordered here by this type", output.name);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<MergedPartials> MergePartials(const PartialMerge& merge, const std::vector<std::string_view>& payloads, Format format,
                                     std::string& out) {
  if (payloads.empty()) return InvalidArgument("a merge needs at least one partial result");
  ASSIGN_OR_RETURN(const ColumnarHeader header, internal::ParseColumnarHeader(payloads.front()));
  for (std::string_view payload : payloads) {
    if (payload.substr(0, header.size) != payloads.front().substr(0, header.size)) {
      return InvalidArgument("shards answered different columns");
    }
  }
  Rows rows;
  RETURN_IF_ERROR(CreateTypes(header, rows));
  RETURN_IF_ERROR(CheckMerge(merge, header, rows));
  RETURN_IF_ERROR(ReadRows(header, payloads, rows));
  const auto& columns = header.columns;
  const size_t outputs = merge.outputs.size();

  // Group (or not) and accumulate, in the partials' order.
  std::vector<RowRef> firsts;                // per group: its first row
  std::vector<Accumulator> accumulators;     // per group, per output
  GroupTable group_of;
  std::string key;
  auto new_group = [&](RowRef at) {
    firsts.push_back(at);
    if (merge.grouped) accumulators.resize(accumulators.size() + outputs);
    return static_cast<uint32_t>(firsts.size() - 1);
  };
  auto cell = [&](RowRef at, size_t col) {
    Cell value;
    value.valid = rows.Valid(at.chunk, at.row, col);
    if (!value.valid) return value;
    const ColumnarColumn& column = columns[col];
    const Kind kind = KindOf(column);
    // Only answered (copied from the row), never compared (CheckMerge): no value to load.
    if (kind == Kind::kOther) return value;
    if (kind == Kind::kReal) {
      value.real = LoadReal(rows.At(at.chunk, at.row, col, column.width), column.width);
    } else if (kind == Kind::kString) {
      value.text = StringAt(rows.columns[at.chunk][col].data, at.row);
    } else {
      value.number = LoadNumber(rows.At(at.chunk, at.row, col, column.width), column.width, kind == Kind::kSigned);
    }
    return value;
  };
  if (merge.grouped && merge.keys.empty()) new_group({});  // one row, even of no rows
  for (uint32_t c = 0; c < rows.chunks.size(); ++c) {
    const auto size = static_cast<uint32_t>(duckdb_data_chunk_get_size(rows.chunks[c]->chunk));
    for (uint32_t r = 0; r < size; ++r) {
      const RowRef at{c, r};
      uint32_t group = 0;
      if (!merge.grouped) {
        group = new_group(at);
      } else if (!merge.keys.empty()) {
        key.clear();
        for (size_t col : merge.keys) {
          const bool valid = rows.Valid(c, r, col);
          key.push_back(valid ? 1 : 0);
          if (!valid) continue;
          if (columns[col].width == 0) {
            const std::string_view text = StringAt(rows.columns[c][col].data, r);
            const auto length = static_cast<uint32_t>(text.size());
            key.append(reinterpret_cast<const char*>(&length), sizeof(length)).append(text);
          } else {
            key.append(rows.At(c, r, col, columns[col].width), columns[col].width);
          }
        }
        group = group_of.Find(key, [&] { return new_group(at); });
      }
      for (size_t i = 0; i < outputs && merge.grouped; ++i) {
        const auto& output = merge.outputs[i];
        Accumulator& acc = accumulators[group * outputs + i];
        switch (output.op) {
          case Op::kValue:
            break;
          case Op::kSum:
          case Op::kAvg: {
            if (output.op == Op::kAvg && rows.Valid(c, r, output.count_column)) {
              const Cell counted = cell(at, output.count_column);
              if (__builtin_add_overflow(acc.count, counted.number, &acc.count)) return Unimplemented("a count past 128 bits");
              acc.count_valid = true;
            }
            if (!rows.Valid(c, r, output.column)) break;
            acc.valid = true;
            const Cell added = cell(at, output.column);
            if (SumsReals(columns[output.column])) {
              acc.real_sum += added.real;
            } else if (__builtin_add_overflow(acc.sum, added.number, &acc.sum)) {
              return Unimplemented("a sum past 128 bits", output.name);  // DuckDB's query says what it says of it
            }
            break;
          }
          case Op::kMin:
          case Op::kMax: {
            if (!rows.Valid(c, r, output.column)) break;
            if (acc.valid) {
              const Compare how = CompareOf(KindOf(columns[output.column]));
              const int order = CompareCells(cell(at, output.column), cell(acc.best, output.column), how);
              if (output.op == Op::kMin ? order >= 0 : order <= 0) break;
            }
            acc.valid = true;
            acc.best = at;
            break;
          }
        }
      }
    }
  }
  const size_t groups = firsts.size();

  // An output's value for a group, checked against its type.
  auto value_of = [&](size_t g, size_t i) -> Result<Cell> {
    const auto& output = merge.outputs[i];
    if (output.op == Op::kValue) return cell(firsts[g], output.column);
    Cell value;
    const Accumulator& acc = accumulators[g * outputs + i];
    switch (output.op) {
      case Op::kValue:  // (above)
      case Op::kMin:
      case Op::kMax:
        if (acc.valid) value = cell(acc.best, output.column);
        break;
      case Op::kSum:
        value.valid = acc.valid;
        value.number = acc.sum;
        value.real = acc.real_sum;
        if (acc.valid && !SumsReals(columns[output.column]) && !FitsColumn(acc.sum, columns[output.column])) {
          return Unimplemented("a sum past its type", output.name);
        }
        break;
      case Op::kAvg: {
        // sum(s) / sum(c) divides as DOUBLEs: exactly what the query does while each converts
        // to a DOUBLE exactly (integers and DECIMALs' unscaled values |x| ≤ 2^53, a DECIMAL then
        // divided by its power of ten, as DuckDB casts one); a count of 0 beside a sum cannot
        // come from shards.
        constexpr __int128 kExact = static_cast<__int128>(1) << 53;
        if (!acc.valid || !acc.count_valid) break;
        const ColumnarColumn& sums = columns[output.column];
        if (acc.count == 0 || acc.count > kExact || acc.count < 0 ||
            (!SumsReals(sums) && (acc.sum > kExact || acc.sum < -kExact || sums.decimal_scale > 22))) {
          return Unimplemented("an average not divided exactly here", output.name);
        }
        double sum = acc.real_sum;
        if (!SumsReals(sums)) {
          sum = static_cast<double>(static_cast<int64_t>(acc.sum));
          if (sums.type_id == DUCKDB_TYPE_DECIMAL) sum /= kPowersOfTen[sums.decimal_scale];
        }
        value.valid = true;
        value.real = sum / static_cast<double>(static_cast<int64_t>(acc.count));
        break;
      }
    }
    return value;
  };
  // Every group's sums and averages are checked, not only the page's: the query fails on any.
  for (size_t i = 0; i < outputs; ++i) {
    if (merge.outputs[i].op != Op::kSum && merge.outputs[i].op != Op::kAvg) continue;
    for (size_t g = 0; g < groups; ++g) RETURN_IF_ERROR(value_of(g, i).status());
  }
  // The values ordered by, per group.
  const size_t order_keys = merge.order.size();
  std::vector<Cell> values(groups * order_keys);
  for (size_t g = 0; g < groups; ++g) {
    for (size_t k = 0; k < order_keys; ++k) values[g * order_keys + k] = *value_of(g, merge.order[k].output);
  }

  // Order, then the page.
  std::vector<uint32_t> order(groups);
  for (uint32_t g = 0; g < groups; ++g) order[g] = g;
  if (!merge.order.empty()) {
    std::vector<Compare> how;
    for (const auto& item : merge.order) {
      const auto& output = merge.outputs[item.output];
      const bool real = output.op == Op::kAvg || (output.op == Op::kSum && SumsReals(columns[output.column]));
      how.push_back(real ? Compare::kReal : output.op == Op::kSum ? Compare::kNumber : CompareOf(KindOf(columns[output.column])));
    }
    // Only the page's first offset + limit need sorting (a top 10 of 5,000 groups is a partial
    // sort). The group's number breaks ties, for a deterministic answer; that it is the query's
    // answer rests on the plan's order being total (PlanShards ends it with the group keys, the
    // table's key or every column), since DuckDB's sort is not stable.
    auto before = [&](uint32_t a, uint32_t b) {
      for (size_t k = 0; k < merge.order.size(); ++k) {
        const Cell& x = values[a * order_keys + k];
        const Cell& y = values[b * order_keys + k];
        if (!x.valid || !y.valid) {
          if (x.valid == y.valid) continue;
          return y.valid == false;  // NULLs last, ascending or descending
        }
        const int c = CompareCells(x, y, how[k]);
        if (c != 0) return merge.order[k].descending ? c > 0 : c < 0;
      }
      return a < b;
    };
    const auto wanted = static_cast<size_t>(std::clamp<int64_t>(merge.offset, 0, static_cast<int64_t>(groups)) +
                                            std::clamp<int64_t>(merge.limit, 0, static_cast<int64_t>(groups)));
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min(wanted, groups)), order.end(), before);
  }
  const size_t begin = static_cast<size_t>(std::clamp<int64_t>(merge.offset, 0, static_cast<int64_t>(groups)));
  const size_t end = begin + static_cast<size_t>(std::clamp<int64_t>(merge.limit, 0, static_cast<int64_t>(groups - begin)));

  // The answer, as DuckDB chunks of the answer's types, through the result encoder.
  MergedPartials merged;
  merged.groups = groups;
  std::deque<OwnedLogicalType> owned;
  std::vector<duckdb_logical_type> types;
  std::vector<std::string> names;
  for (size_t i = 0; i < merge.answered; ++i) {
    const auto& output = merge.outputs[i];
    duckdb_logical_type type = nullptr;
    if (output.op == Op::kAvg) {
      type = duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    } else {
      ASSIGN_OR_RETURN(type, internal::CreateColumnType(columns[output.column]));
    }
    types.push_back(owned.emplace_back(type).type);
    names.push_back(output.name);
    merged.columns.push_back({output.name, internal::DescribeType(type)});
  }
  const size_t capacity = duckdb_vector_size();
  std::optional<OwnedDataChunk> chunk;
  size_t next = begin;
  auto fill = [&]() -> duckdb_data_chunk {
    chunk.reset();
    if (next >= end) return nullptr;
    chunk.emplace(duckdb_create_data_chunk(types.data(), types.size()));
    const size_t count = std::min(capacity, end - next);
    for (size_t i = 0; i < merge.answered; ++i) {
      const auto& output = merge.outputs[i];
      duckdb_vector vector = duckdb_data_chunk_get_vector(chunk->chunk, i);
      char* data = static_cast<char*>(duckdb_vector_get_data(vector));
      const ColumnarColumn& column = columns[output.column];
      for (size_t k = 0; k < count; ++k) {
        const uint32_t g = order[next + k];
        const Cell value = *value_of(g, i);  // checked above, with every group
        if (!value.valid) {
          duckdb_vector_ensure_validity_writable(vector);
          duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vector), k);
          continue;
        }
        if (output.op == Op::kAvg) {
          std::memcpy(data + k * sizeof(double), &value.real, sizeof(double));
        } else if (output.op == Op::kSum && SumsReals(column)) {
          std::memcpy(data + k * sizeof(double), &value.real, sizeof(double));
        } else if (output.op == Op::kSum) {
          std::memcpy(data + k * column.width, &value.number, column.width);  // little-endian: the low bytes
        } else {
          // The value's own bytes, from the row holding it.
          const RowRef at = output.op == Op::kValue ? firsts[g] : accumulators[g * outputs + i].best;
          if (column.width == 0) {
            const std::string_view text = StringAt(rows.columns[at.chunk][output.column].data, at.row);
            duckdb_vector_assign_string_element_len(vector, k, text.data(), text.size());
          } else {
            std::memcpy(data + k * column.width, rows.At(at.chunk, at.row, output.column, column.width), column.width);
          }
        }
      }
    }
    duckdb_data_chunk_set_size(chunk->chunk, count);
    next += count;
    return chunk->chunk;
  };
  ASSIGN_OR_RETURN(merged.rows, internal::EncodeChunks(names, types, fill, format, out));
  return merged;
}

}  // namespace dram::engine
