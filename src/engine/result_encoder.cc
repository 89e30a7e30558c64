#include "engine/result_encoder.h"

#include <duckdb.h>

#include <cmath>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/civil_time.h"
#include "common/json_text.h"
#include "engine/duckdb_types.h"
#include "engine/encode_chunks.h"
#include "engine/result_handle.h"

namespace dram::engine {

namespace {

using common::AppendInt;
using common::AppendJsonString;
using internal::StringAt;

constexpr int32_t kDateInfinity = 2147483647;  // DuckDB's date 'infinity'; '-infinity' is its negation
constexpr int64_t kTimestampInfinity = 9223372036854775807LL;

// Writes one column's values. Bind() is called once per chunk (it caches the vector's data and
// validity, and binds children for nested types); Json()/Text() are then called per valid row.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual void Bind(duckdb_vector vector) {
    data_ = duckdb_vector_get_data(vector);
    validity_ = duckdb_vector_get_validity(vector);
  }
  bool IsValid(idx_t row) const { return !validity_ || ((validity_[row >> 6] >> (row & 63)) & 1); }
  // The value as JSON.
  virtual void Json(idx_t row, std::string& out) = 0;
  // The value as bare text (CSV fields, map keys): no quotes or escapes for scalars.
  virtual void Text(idx_t row, std::string& out) { Json(row, out); }
  void JsonOrNull(idx_t row, std::string& out) {
    if (IsValid(row)) {
      Json(row, out);
    } else {
      out.append("null");
    }
  }

 protected:
  template <typename T>
  const T& At(idx_t row) const {
    return static_cast<const T*>(data_)[row];
  }

  void* data_ = nullptr;
  uint64_t* validity_ = nullptr;
};

// Scalars whose JSON form is their text form in quotes.
class QuotedWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override {
    out.push_back('"');
    Text(row, out);
    out.push_back('"');
  }
};

class BoolWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override { out.append(At<bool>(row) ? "true" : "false"); }
};

template <typename T>
class IntWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override { AppendInt(out, At<T>(row)); }
};

template <typename T>
class FloatWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override { common::AppendDouble(out, At<T>(row), true); }
  void Text(idx_t row, std::string& out) override {
    double value = At<T>(row);
    if (std::isfinite(value)) {
      common::AppendDouble(out, value, true);
    } else {
      out.append(std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }
  }
};

void AppendUint128(std::string& out, unsigned __int128 value) {
  char buf[48];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(value % 10));
    value /= 10;
  } while (value != 0);
  out.append(p, end);
}

void AppendInt128(std::string& out, __int128 value) {
  if (value >= INT64_MIN && value <= INT64_MAX) {
    AppendInt(out, static_cast<int64_t>(value));
    return;
  }
  if (value < 0) out.push_back('-');
  AppendUint128(out, value < 0 ? -static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value));
}

__int128 ToInt128(duckdb_hugeint h) { return (static_cast<__int128>(h.upper) << 64) | h.lower; }

class HugeintWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override { AppendInt128(out, ToInt128(At<duckdb_hugeint>(row))); }
};

class UhugeintWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override {
    const auto& u = At<duckdb_uhugeint>(row);
    AppendUint128(out, (static_cast<unsigned __int128>(u.upper) << 64) | u.lower);
  }
};

// DECIMAL(width, scale) stored as an integer of 2, 4, 8 or 16 bytes; written exactly.
template <typename Storage>
class DecimalWriter : public Writer {
 public:
  explicit DecimalWriter(uint8_t scale) : scale_(scale) {}
  void Json(idx_t row, std::string& out) override {
    __int128 value;
    if constexpr (std::is_same_v<Storage, duckdb_hugeint>) {
      value = ToInt128(At<Storage>(row));
    } else {
      value = At<Storage>(row);
    }
    if (scale_ == 0) {
      AppendInt128(out, value);
      return;
    }
    std::string digits;
    bool negative = value < 0;
    AppendUint128(digits, negative ? -static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value));
    if (digits.size() <= scale_) digits.insert(0, scale_ + 1 - digits.size(), '0');
    if (negative) out.push_back('-');
    out.append(digits, 0, digits.size() - scale_);
    out.push_back('.');
    out.append(digits, digits.size() - scale_, scale_);
  }

 private:
  uint8_t scale_;
};

class VarcharWriter : public Writer {
 public:
  void Json(idx_t row, std::string& out) override { AppendJsonString(out, StringAt(At<duckdb_string_t>(row))); }
  void Text(idx_t row, std::string& out) override { out.append(StringAt(At<duckdb_string_t>(row))); }
};

class BlobWriter : public QuotedWriter {
 public:
  void Text(idx_t row, std::string& out) override { common::AppendBase64(out, StringAt(At<duckdb_string_t>(row))); }
};

// BIT strings: the first byte counts padding bits in the second byte.
class BitWriter : public QuotedWriter {
 public:
  void Text(idx_t row, std::string& out) override {
    std::string_view bytes = StringAt(At<duckdb_string_t>(row));
    if (bytes.empty()) return;
    auto padding = static_cast<unsigned>(static_cast<unsigned char>(bytes[0]));
    for (size_t i = 1; i < bytes.size(); ++i) {
      auto byte = static_cast<unsigned char>(bytes[i]);
      for (int bit = 7; bit >= 0; --bit) {
        if (i == 1 && static_cast<unsigned>(7 - bit) < padding) continue;
        out.push_back(((byte >> bit) & 1) ? '1' : '0');
      }
    }
  }
};

class DateWriter : public QuotedWriter {
 public:
  void Text(idx_t row, std::string& out) override {
    int32_t days = At<duckdb_date>(row).days;
    if (days == kDateInfinity || days == -kDateInfinity) {
      out.append(days > 0 ? "infinity" : "-infinity");
      return;
    }
    common::AppendIsoDate(out, days);
  }
};

class TimeWriter : public QuotedWriter {
 public:
  explicit TimeWriter(int64_t units_per_micro_divisor) : nanos_(units_per_micro_divisor == 1000) {}
  void Text(idx_t row, std::string& out) override {
    int64_t value = At<int64_t>(row);
    common::AppendIsoTimeOfDay(out, nanos_ ? value / 1000 : value);
  }

 private:
  bool nanos_;
};

class TimeTzWriter : public QuotedWriter {
 public:
  void Text(idx_t row, std::string& out) override {
    duckdb_time_tz_struct parts = duckdb_from_time_tz(At<duckdb_time_tz>(row));
    common::AppendIsoTimeOfDay(out, parts.time.hour * 3600000000LL + parts.time.min * 60000000LL +
                                        parts.time.sec * 1000000LL + parts.time.micros);
    int32_t offset = parts.offset;
    out.push_back(offset < 0 ? '-' : '+');
    offset = std::abs(offset);
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%02d:%02d", (offset / 3600) % 100, (offset / 60) % 60);
    out.append(buf);
  }
};

enum class TimeUnit { kSeconds, kMillis, kMicros, kNanos };

class TimestampWriter : public QuotedWriter {
 public:
  TimestampWriter(TimeUnit unit, bool with_zone) : unit_(unit), with_zone_(with_zone) {}
  void Text(idx_t row, std::string& out) override {
    int64_t value = At<int64_t>(row);
    if (value == kTimestampInfinity || value == -kTimestampInfinity) {
      out.append(value > 0 ? "infinity" : "-infinity");
      return;
    }
    switch (unit_) {
      case TimeUnit::kSeconds: common::AppendIsoTimestampMicros(out, value * 1000000, with_zone_); break;
      case TimeUnit::kMillis: common::AppendIsoTimestampMicros(out, value * 1000, with_zone_); break;
      case TimeUnit::kMicros: common::AppendIsoTimestampMicros(out, value, with_zone_); break;
      case TimeUnit::kNanos: common::AppendIsoTimestampNanos(out, value, with_zone_); break;
    }
  }

 private:
  TimeUnit unit_;
  bool with_zone_;
};

// ISO 8601 duration: P1Y2M3DT4H5M6.5S; the zero interval is PT0S.
class IntervalWriter : public QuotedWriter {
 public:
  void Text(idx_t row, std::string& out) override {
    const duckdb_interval& interval = At<duckdb_interval>(row);
    out.push_back('P');
    int32_t years = interval.months / 12;
    int32_t months = interval.months % 12;
    auto part = [&](int64_t amount, char unit) {
      if (amount == 0) return;
      AppendInt(out, amount);
      out.push_back(unit);
    };
    part(years, 'Y');
    part(months, 'M');
    part(interval.days, 'D');
    int64_t micros = interval.micros;
    if (micros != 0 || (years == 0 && months == 0 && interval.days == 0)) {
      out.push_back('T');
      part(micros / 3600000000LL, 'H');
      part((micros / 60000000LL) % 60, 'M');
      int64_t second_micros = micros % 60000000LL;
      if (second_micros != 0 || micros == 0) {
        if (second_micros < 0) {
          out.push_back('-');
          second_micros = -second_micros;
        }
        AppendInt(out, second_micros / 1000000);
        if (second_micros % 1000000 != 0) {
          char buf[16];
          std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(second_micros % 1000000));
          std::string_view fraction(buf);
          while (fraction.back() == '0') fraction.remove_suffix(1);
          out.append(fraction);
        }
        out.push_back('S');
      }
    }
  }
};

class UuidWriter : public QuotedWriter {
 public:
  void Text(idx_t row, std::string& out) override {
    const duckdb_hugeint& h = At<duckdb_hugeint>(row);
    // DuckDB flips the top bit so that UUIDs sort as unsigned.
    uint64_t upper = static_cast<uint64_t>(h.upper) ^ (uint64_t{1} << 63);
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                  static_cast<unsigned long long>(upper >> 32), static_cast<unsigned long long>((upper >> 16) & 0xFFFF),
                  static_cast<unsigned long long>(upper & 0xFFFF), static_cast<unsigned long long>(h.lower >> 48),
                  static_cast<unsigned long long>(h.lower & 0xFFFFFFFFFFFFULL));
    out.append(buf);
  }
};

template <typename Index>
class EnumWriter : public Writer {
 public:
  explicit EnumWriter(std::vector<std::string> values) : values_(std::move(values)) {
    for (const auto& v : values_) {
      std::string quoted;
      AppendJsonString(quoted, v);
      quoted_.push_back(std::move(quoted));
    }
  }
  void Json(idx_t row, std::string& out) override { out.append(quoted_[At<Index>(row)]); }
  void Text(idx_t row, std::string& out) override { out.append(values_[At<Index>(row)]); }

 private:
  std::vector<std::string> values_;
  std::vector<std::string> quoted_;
};

Result<std::unique_ptr<Writer>> MakeWriter(duckdb_logical_type type);

class ListWriter : public Writer {
 public:
  explicit ListWriter(std::unique_ptr<Writer> child) : child_(std::move(child)) {}
  void Bind(duckdb_vector vector) override {
    Writer::Bind(vector);
    child_->Bind(duckdb_list_vector_get_child(vector));
  }
  void Json(idx_t row, std::string& out) override {
    const auto& entry = At<duckdb_list_entry>(row);
    out.push_back('[');
    for (idx_t i = 0; i < entry.length; ++i) {
      if (i > 0) out.push_back(',');
      child_->JsonOrNull(entry.offset + i, out);
    }
    out.push_back(']');
  }

 private:
  std::unique_ptr<Writer> child_;
};

class ArrayWriter : public Writer {
 public:
  ArrayWriter(std::unique_ptr<Writer> child, idx_t size) : child_(std::move(child)), size_(size) {}
  void Bind(duckdb_vector vector) override {
    Writer::Bind(vector);
    child_->Bind(duckdb_array_vector_get_child(vector));
  }
  void Json(idx_t row, std::string& out) override {
    out.push_back('[');
    for (idx_t i = 0; i < size_; ++i) {
      if (i > 0) out.push_back(',');
      child_->JsonOrNull(row * size_ + i, out);
    }
    out.push_back(']');
  }

 private:
  std::unique_ptr<Writer> child_;
  idx_t size_;
};

class StructWriter : public Writer {
 public:
  void Add(std::string name, std::unique_ptr<Writer> child) {
    std::string key;
    AppendJsonString(key, name);
    key.push_back(':');
    keys_.push_back(std::move(key));
    children_.push_back(std::move(child));
  }
  void Bind(duckdb_vector vector) override {
    Writer::Bind(vector);
    for (idx_t i = 0; i < children_.size(); ++i) children_[i]->Bind(duckdb_struct_vector_get_child(vector, i));
  }
  void Json(idx_t row, std::string& out) override {
    out.push_back('{');
    for (size_t i = 0; i < children_.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(keys_[i]);
      children_[i]->JsonOrNull(row, out);
    }
    out.push_back('}');
  }

 private:
  std::vector<std::string> keys_;
  std::vector<std::unique_ptr<Writer>> children_;
};

// MAP is a LIST of STRUCT(key, value); written as a JSON object keyed by the key's text.
class MapWriter : public Writer {
 public:
  MapWriter(std::unique_ptr<Writer> key, std::unique_ptr<Writer> value) : key_(std::move(key)), value_(std::move(value)) {}
  void Bind(duckdb_vector vector) override {
    Writer::Bind(vector);
    duckdb_vector entries = duckdb_list_vector_get_child(vector);
    key_->Bind(duckdb_struct_vector_get_child(entries, 0));
    value_->Bind(duckdb_struct_vector_get_child(entries, 1));
  }
  void Json(idx_t row, std::string& out) override {
    const auto& entry = At<duckdb_list_entry>(row);
    out.push_back('{');
    for (idx_t i = 0; i < entry.length; ++i) {
      if (i > 0) out.push_back(',');
      scratch_.clear();
      if (key_->IsValid(entry.offset + i)) key_->Text(entry.offset + i, scratch_);
      AppendJsonString(out, scratch_);
      out.push_back(':');
      value_->JsonOrNull(entry.offset + i, out);
    }
    out.push_back('}');
  }

 private:
  std::unique_ptr<Writer> key_;
  std::unique_ptr<Writer> value_;
  std::string scratch_;
};

// UNION: physically a STRUCT whose child 0 is the tag; the active member is written as is.
class UnionWriter : public Writer {
 public:
  explicit UnionWriter(std::vector<std::unique_ptr<Writer>> members) : members_(std::move(members)) {}
  void Bind(duckdb_vector vector) override {
    Writer::Bind(vector);
    tags_ = static_cast<const uint8_t*>(duckdb_vector_get_data(duckdb_struct_vector_get_child(vector, 0)));
    for (idx_t i = 0; i < members_.size(); ++i) members_[i]->Bind(duckdb_struct_vector_get_child(vector, i + 1));
  }
  void Json(idx_t row, std::string& out) override { members_[tags_[row]]->JsonOrNull(row, out); }
  void Text(idx_t row, std::string& out) override {
    Writer& member = *members_[tags_[row]];
    if (member.IsValid(row)) member.Text(row, out);
  }

 private:
  std::vector<std::unique_ptr<Writer>> members_;
  const uint8_t* tags_ = nullptr;
};

using internal::OwnedLogicalType;

std::vector<std::string> EnumValues(duckdb_logical_type type) {
  std::vector<std::string> values;
  uint32_t size = duckdb_enum_dictionary_size(type);
  for (uint32_t i = 0; i < size; ++i) {
    char* value = duckdb_enum_dictionary_value(type, i);
    values.emplace_back(value);
    duckdb_free(value);
  }
  return values;
}

Result<std::unique_ptr<Writer>> MakeDecimalWriter(duckdb_logical_type type) {
  uint8_t scale = duckdb_decimal_scale(type);
  switch (duckdb_decimal_internal_type(type)) {
    case DUCKDB_TYPE_SMALLINT: return std::unique_ptr<Writer>(new DecimalWriter<int16_t>(scale));
    case DUCKDB_TYPE_INTEGER: return std::unique_ptr<Writer>(new DecimalWriter<int32_t>(scale));
    case DUCKDB_TYPE_BIGINT: return std::unique_ptr<Writer>(new DecimalWriter<int64_t>(scale));
    default: return std::unique_ptr<Writer>(new DecimalWriter<duckdb_hugeint>(scale));
  }
}

Result<std::unique_ptr<Writer>> MakeEnumWriter(duckdb_logical_type type) {
  auto values = EnumValues(type);
  switch (duckdb_enum_internal_type(type)) {
    case DUCKDB_TYPE_UTINYINT: return std::unique_ptr<Writer>(new EnumWriter<uint8_t>(std::move(values)));
    case DUCKDB_TYPE_USMALLINT: return std::unique_ptr<Writer>(new EnumWriter<uint16_t>(std::move(values)));
    default: return std::unique_ptr<Writer>(new EnumWriter<uint32_t>(std::move(values)));
  }
}

Result<std::unique_ptr<Writer>> MakeNestedWriter(duckdb_logical_type type, duckdb_type id) {
  switch (id) {
    case DUCKDB_TYPE_LIST: {
      OwnedLogicalType child(duckdb_list_type_child_type(type));
      ASSIGN_OR_RETURN(auto writer, MakeWriter(child.type));
      return std::unique_ptr<Writer>(new ListWriter(std::move(writer)));
    }
    case DUCKDB_TYPE_ARRAY: {
      OwnedLogicalType child(duckdb_array_type_child_type(type));
      ASSIGN_OR_RETURN(auto writer, MakeWriter(child.type));
      return std::unique_ptr<Writer>(new ArrayWriter(std::move(writer), duckdb_array_type_array_size(type)));
    }
    case DUCKDB_TYPE_MAP: {
      OwnedLogicalType key(duckdb_map_type_key_type(type));
      OwnedLogicalType value(duckdb_map_type_value_type(type));
      ASSIGN_OR_RETURN(auto key_writer, MakeWriter(key.type));
      ASSIGN_OR_RETURN(auto value_writer, MakeWriter(value.type));
      return std::unique_ptr<Writer>(new MapWriter(std::move(key_writer), std::move(value_writer)));
    }
    case DUCKDB_TYPE_STRUCT: {
      auto writer = std::make_unique<StructWriter>();
      for (idx_t i = 0; i < duckdb_struct_type_child_count(type); ++i) {
        char* name = duckdb_struct_type_child_name(type, i);
        std::string child_name(name);
        duckdb_free(name);
        OwnedLogicalType child(duckdb_struct_type_child_type(type, i));
        ASSIGN_OR_RETURN(auto child_writer, MakeWriter(child.type));
        writer->Add(std::move(child_name), std::move(child_writer));
      }
      return std::unique_ptr<Writer>(std::move(writer));
    }
    case DUCKDB_TYPE_UNION: {
      std::vector<std::unique_ptr<Writer>> members;
      for (idx_t i = 0; i < duckdb_union_type_member_count(type); ++i) {
        OwnedLogicalType member(duckdb_union_type_member_type(type, i));
        ASSIGN_OR_RETURN(auto writer, MakeWriter(member.type));
        members.push_back(std::move(writer));
      }
      return std::unique_ptr<Writer>(new UnionWriter(std::move(members)));
    }
    default: return Unimplemented("cannot encode column type", std::to_string(static_cast<int>(id)));
  }
}

Result<std::unique_ptr<Writer>> MakeWriter(duckdb_logical_type type) {
  duckdb_type id = duckdb_get_type_id(type);
  auto make = [](Writer* w) { return Result<std::unique_ptr<Writer>>(std::unique_ptr<Writer>(w)); };
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN: return make(new BoolWriter);
    case DUCKDB_TYPE_TINYINT: return make(new IntWriter<int8_t>);
    case DUCKDB_TYPE_SMALLINT: return make(new IntWriter<int16_t>);
    case DUCKDB_TYPE_INTEGER: return make(new IntWriter<int32_t>);
    case DUCKDB_TYPE_BIGINT: return make(new IntWriter<int64_t>);
    case DUCKDB_TYPE_UTINYINT: return make(new IntWriter<uint8_t>);
    case DUCKDB_TYPE_USMALLINT: return make(new IntWriter<uint16_t>);
    case DUCKDB_TYPE_UINTEGER: return make(new IntWriter<uint32_t>);
    case DUCKDB_TYPE_UBIGINT: return make(new IntWriter<uint64_t>);
    case DUCKDB_TYPE_HUGEINT: return make(new HugeintWriter);
    case DUCKDB_TYPE_UHUGEINT: return make(new UhugeintWriter);
    case DUCKDB_TYPE_FLOAT: return make(new FloatWriter<float>);
    case DUCKDB_TYPE_DOUBLE: return make(new FloatWriter<double>);
    case DUCKDB_TYPE_DECIMAL: return MakeDecimalWriter(type);
    case DUCKDB_TYPE_VARCHAR: return make(new VarcharWriter);
    case DUCKDB_TYPE_BLOB: return make(new BlobWriter);
    case DUCKDB_TYPE_BIT: return make(new BitWriter);
    case DUCKDB_TYPE_DATE: return make(new DateWriter);
    case DUCKDB_TYPE_TIME: return make(new TimeWriter(1));
    case DUCKDB_TYPE_TIME_NS: return make(new TimeWriter(1000));
    case DUCKDB_TYPE_TIME_TZ: return make(new TimeTzWriter);
    case DUCKDB_TYPE_TIMESTAMP: return make(new TimestampWriter(TimeUnit::kMicros, false));
    case DUCKDB_TYPE_TIMESTAMP_TZ: return make(new TimestampWriter(TimeUnit::kMicros, true));
    case DUCKDB_TYPE_TIMESTAMP_S: return make(new TimestampWriter(TimeUnit::kSeconds, false));
    case DUCKDB_TYPE_TIMESTAMP_MS: return make(new TimestampWriter(TimeUnit::kMillis, false));
    case DUCKDB_TYPE_TIMESTAMP_NS: return make(new TimestampWriter(TimeUnit::kNanos, false));
    case DUCKDB_TYPE_INTERVAL: return make(new IntervalWriter);
    case DUCKDB_TYPE_UUID: return make(new UuidWriter);
    case DUCKDB_TYPE_ENUM: return MakeEnumWriter(type);
    default: return MakeNestedWriter(type, id);
  }
}

// A CSV field needs quotes when it holds a separator, quote or line break.
void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

Result<size_t> internal::EncodeChunks(const std::vector<std::string>& names, const std::vector<duckdb_logical_type>& types,
                                      const std::function<duckdb_data_chunk()>& next, Format format, std::string& out) {
  const size_t column_count = names.size();
  std::vector<std::unique_ptr<Writer>> writers;
  std::vector<std::string> keys;  // "name": per column, escaped once
  for (size_t col = 0; col < column_count; ++col) {
    ASSIGN_OR_RETURN(auto writer, MakeWriter(types[col]));
    writers.push_back(std::move(writer));
    std::string key;
    AppendJsonString(key, names[col]);
    key.push_back(':');
    keys.push_back(std::move(key));
  }

  size_t rows = 0;
  std::string field;
  if (format == Format::kJson) out.push_back('[');
  const bool csv = format == Format::kCsv || format == Format::kCsvExact;
  if (csv) {
    for (size_t col = 0; col < column_count; ++col) {
      if (col > 0) out.push_back(',');
      AppendCsvField(out, names[col]);
    }
    out.append("\r\n");
  }
  while (duckdb_data_chunk chunk = next()) {
    idx_t size = duckdb_data_chunk_get_size(chunk);
    for (size_t col = 0; col < column_count; ++col) writers[col]->Bind(duckdb_data_chunk_get_vector(chunk, col));
    for (idx_t row = 0; row < size; ++row, ++rows) {
      if (csv) {
        for (size_t col = 0; col < column_count; ++col) {
          if (col > 0) out.push_back(',');
          if (!writers[col]->IsValid(row)) continue;
          field.clear();
          writers[col]->Text(row, field);
          if (field.empty() && format == Format::kCsvExact) {
            out.append("\"\"");
            continue;
          }
          AppendCsvField(out, field);
        }
        out.append("\r\n");
        continue;
      }
      if (format == Format::kJson && rows > 0) out.push_back(',');
      out.push_back('{');
      for (size_t col = 0; col < column_count; ++col) {
        if (col > 0) out.push_back(',');
        out.append(keys[col]);
        writers[col]->JsonOrNull(row, out);
      }
      out.push_back('}');
      if (format == Format::kNdjson) out.push_back('\n');
    }
  }
  if (format == Format::kJson) out.push_back(']');
  return rows;
}

Result<size_t> EncodeResult(QueryResult& result, Format format, std::string& out) {
  duckdb_result& raw = result.handle().result;
  std::vector<std::string> names;
  std::deque<OwnedLogicalType> owned;  // not movable: a deque keeps each in place
  std::vector<duckdb_logical_type> types;
  for (size_t col = 0; col < result.column_count(); ++col) {
    names.push_back(result.column_name(col));
    types.push_back(owned.emplace_back(duckdb_column_logical_type(&raw, col)).type);
  }
  std::optional<internal::OwnedDataChunk> current;  // the chunk being written, destroyed at the next fetch
  return internal::EncodeChunks(
      names, types,
      [&]() -> duckdb_data_chunk {
        current.reset();
        duckdb_data_chunk chunk = duckdb_fetch_chunk(raw);
        if (!chunk) return nullptr;
        return current.emplace(chunk).chunk;
      },
      format, out);
}

Result<std::vector<std::string>> ColumnText(QueryResult& result, size_t column) {
  if (column >= result.column_count()) return OutOfRange("no such column", std::to_string(column));
  duckdb_result& raw = result.handle().result;
  OwnedLogicalType type(duckdb_column_logical_type(&raw, column));
  ASSIGN_OR_RETURN(auto writer, MakeWriter(type.type));
  std::vector<std::string> values;
  while (duckdb_data_chunk raw_chunk = duckdb_fetch_chunk(raw)) {
    internal::OwnedDataChunk chunk(raw_chunk);
    writer->Bind(duckdb_data_chunk_get_vector(chunk.chunk, column));
    for (idx_t row = 0; row < duckdb_data_chunk_get_size(chunk.chunk); ++row) {
      std::string& value = values.emplace_back();
      if (writer->IsValid(row)) writer->Text(row, value);
    }
  }
  return values;
}

}  // namespace dram::engine
