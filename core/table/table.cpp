// Column and Table: the typed in-memory column table (see table.hpp).
#include "core/table/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "core/error.hpp"

namespace dhs {

namespace {

std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + ")";
}

// The storage alternative each DType uses.
Column::Storage make_storage(DType t, std::size_t n) {
    switch (t) {
        case DType::boolean:
        case DType::uint8: return std::vector<std::uint8_t>(n);
        case DType::int8: return std::vector<std::int8_t>(n);
        case DType::int16: return std::vector<std::int16_t>(n);
        case DType::uint16: return std::vector<std::uint16_t>(n);
        case DType::int32: return std::vector<std::int32_t>(n);
        case DType::uint32: return std::vector<std::uint32_t>(n);
        case DType::int64: return std::vector<std::int64_t>(n);
        case DType::uint64: return std::vector<std::uint64_t>(n);
        case DType::float32: return std::vector<float>(n);
        case DType::float64: return std::vector<double>(n);
        case DType::string: return std::vector<std::string>(n);
    }
    throw Error("unknown DType");
}

std::size_t storage_size(const Column::Storage& s) {
    return std::visit([](const auto& v) { return v.size(); }, s);
}

}  // namespace

std::string_view dtype_name(DType t) noexcept {
    switch (t) {
        case DType::boolean: return "boolean";
        case DType::int8: return "int8";
        case DType::uint8: return "uint8";
        case DType::int16: return "int16";
        case DType::uint16: return "uint16";
        case DType::int32: return "int32";
        case DType::uint32: return "uint32";
        case DType::int64: return "int64";
        case DType::uint64: return "uint64";
        case DType::float32: return "float32";
        case DType::float64: return "float64";
        case DType::string: return "string";
    }
    return "unknown";
}

std::size_t dtype_size(DType t) noexcept {
    switch (t) {
        case DType::boolean:
        case DType::int8:
        case DType::uint8: return 1;
        case DType::int16:
        case DType::uint16: return 2;
        case DType::int32:
        case DType::uint32:
        case DType::float32: return 4;
        case DType::int64:
        case DType::uint64:
        case DType::float64: return 8;
        case DType::string: return 0;
    }
    return 0;
}

// ---------------------------------------------------------------------------------- Column

Column::Column(std::string name, DType dtype, std::size_t num_rows, std::vector<std::size_t> shape)
    : name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)), num_rows_(num_rows) {
    data_ = make_storage(dtype_, num_rows_ * cell_size());
}

std::size_t Column::cell_size() const noexcept {
    return std::accumulate(shape_.begin(), shape_.end(), std::size_t{1}, std::multiplies<>());
}

void Column::check_storage_matches_dtype() const {
    if (make_storage(dtype_, 0).index() != data_.index())
        throw Error(fmt::format("column '{}': dtype {} does not match the element type of its values",
                                name_, dtype_name(dtype_)));
}

void Column::set_rows_from_size() {
    const std::size_t n = storage_size(data_), cell = cell_size();
    if (cell == 0) {
        if (n != 0) throw Error(fmt::format("column '{}': shape {} holds no elements but {} were given",
                                            name_, shape_text(shape_), n));
        num_rows_ = 0;
        return;
    }
    if (n % cell != 0)
        throw Error(fmt::format("column '{}': {} values are not a whole number of rows of shape {}",
                                name_, n, shape_text(shape_)));
    num_rows_ = n / cell;
}

void Column::throw_type_mismatch(DType requested) const {
    std::string_view stored = dtype_name(dtype_);
    throw Error(fmt::format("column '{}' holds {}{} values, not {}", name_, stored,
                            dtype_ == DType::boolean ? " (stored as uint8)" : "", dtype_name(requested)));
}

void Column::throw_not_numeric() const {
    throw Error(fmt::format("column '{}' holds string values, which cannot be converted to numbers", name_));
}

const std::vector<std::string>& Column::strings() const {
    const auto* v = std::get_if<std::vector<std::string>>(&data_);
    if (v == nullptr) throw_type_mismatch(DType::string);
    return *v;
}

std::vector<std::string>& Column::mutable_strings() {
    auto* v = std::get_if<std::vector<std::string>>(&data_);
    if (v == nullptr) throw_type_mismatch(DType::string);
    return *v;
}

void Column::append(const Column& other) {
    if (other.dtype_ != dtype_ || other.shape_ != shape_)
        throw Error(fmt::format("cannot append column '{}' ({} {}) to column '{}' ({} {})", other.name_,
                                dtype_name(other.dtype_), shape_text(other.shape_), name_,
                                dtype_name(dtype_), shape_text(shape_)));
    std::visit(
        [&other](auto& v) {
            const auto& w = std::get<std::decay_t<decltype(v)>>(other.data_);
            v.insert(v.end(), w.begin(), w.end());
        },
        data_);
    num_rows_ += other.num_rows_;
}

Column Column::slice(std::size_t begin, std::size_t end) const {
    if (begin > end || end > num_rows_)
        throw Error(fmt::format("column '{}': row range [{}, {}) outside its {} rows", name_, begin, end,
                                num_rows_));
    Column out;
    out.name_ = name_;
    out.dtype_ = dtype_;
    out.shape_ = shape_;
    out.num_rows_ = end - begin;
    out.unit_ = unit_;
    out.description_ = description_;
    const std::size_t cell = cell_size();
    out.data_ = std::visit(
        [&](const auto& v) -> Storage {
            using V = std::decay_t<decltype(v)>;
            return V(v.begin() + static_cast<std::ptrdiff_t>(begin * cell),
                     v.begin() + static_cast<std::ptrdiff_t>(end * cell));
        },
        data_);
    return out;
}

Column Column::take(std::span<const std::uint64_t> rows) const {
    for (auto r : rows)
        if (r >= num_rows_) throw Error(fmt::format("column '{}': row {} outside its {} rows", name_, r, num_rows_));
    Column out;
    out.name_ = name_;
    out.dtype_ = dtype_;
    out.shape_ = shape_;
    out.num_rows_ = rows.size();
    out.unit_ = unit_;
    out.description_ = description_;
    const std::size_t cell = cell_size();
    out.data_ = std::visit(
        [&](const auto& v) -> Storage {
            using V = std::decay_t<decltype(v)>;
            V o;
            o.reserve(rows.size() * cell);
            for (auto r : rows)
                o.insert(o.end(), v.begin() + static_cast<std::ptrdiff_t>(r * cell),
                         v.begin() + static_cast<std::ptrdiff_t>((r + 1) * cell));
            return o;
        },
        data_);
    return out;
}

void* Column::raw_data() noexcept {
    return std::visit(
        [](auto& v) -> void* {
            using E = typename std::decay_t<decltype(v)>::value_type;
            if constexpr (std::is_same_v<E, std::string>) return nullptr;
            else return static_cast<void*>(v.data());
        },
        data_);
}

bool operator==(const Column& a, const Column& b) {
    return a.name_ == b.name_ && a.dtype_ == b.dtype_ && a.shape_ == b.shape_ && a.num_rows_ == b.num_rows_ &&
           a.data_ == b.data_;
}

// ----------------------------------------------------------------------------------- Table

const Column* Table::find(std::string_view name) const noexcept {
    auto it = std::find_if(columns_.begin(), columns_.end(), [name](const Column& c) { return c.name() == name; });
    return it == columns_.end() ? nullptr : &*it;
}

bool Table::has(std::string_view name) const noexcept { return find(name) != nullptr; }

void Table::add(Column column) {
    if (has(column.name())) throw Error(fmt::format("table already has a column '{}'", column.name()));
    if (!columns_.empty() && column.num_rows() != num_rows_)
        throw Error(fmt::format("column '{}' has {} rows but the table has {}", column.name(), column.num_rows(),
                                num_rows_));
    num_rows_ = column.num_rows();
    columns_.push_back(std::move(column));
}

const Column& Table::column(std::string_view name) const {
    const Column* c = find(name);
    if (c == nullptr) {
        std::string names;
        for (const auto& col : columns_) names += (names.empty() ? "" : ", ") + col.name();
        throw Error(fmt::format("table has no column '{}' (it has: {})", name, names));
    }
    return *c;
}

Column& Table::column(std::string_view name) {
    return const_cast<Column&>(static_cast<const Table&>(*this).column(name));
}

Column Table::remove(std::string_view name) {
    const Column* c = &column(name);
    auto it = columns_.begin() + (c - columns_.data());
    Column out = std::move(*it);
    columns_.erase(it);
    if (columns_.empty()) num_rows_ = 0;
    return out;
}

std::vector<std::string> Table::column_names() const {
    std::vector<std::string> names;
    names.reserve(columns_.size());
    for (const auto& c : columns_) names.push_back(c.name());
    return names;
}

void Table::append(const Table& other) {
    if (columns_.empty()) {
        *this = other;
        return;
    }
    bool same = other.columns_.size() == columns_.size();
    for (std::size_t i = 0; same && i < columns_.size(); ++i) {
        const Column &a = columns_[i], &b = other.columns_[i];
        same = a.name() == b.name() && a.dtype() == b.dtype() && a.shape() == b.shape();
    }
    if (!same) {
        auto schema = [](const Table& t) {
            std::string s;
            for (const auto& c : t.columns_)
                s += fmt::format("{}{}:{}{}", s.empty() ? "" : ", ", c.name(), dtype_name(c.dtype()),
                                 c.shape().empty() ? "" : shape_text(c.shape()));
            return s;
        };
        throw Error(fmt::format("cannot append a table with schema [{}] to one with schema [{}]", schema(other),
                                schema(*this)));
    }
    for (std::size_t i = 0; i < columns_.size(); ++i) columns_[i].append(other.columns_[i]);
    num_rows_ += other.num_rows_;
}

Table Table::slice(std::size_t begin, std::size_t end) const {
    if (begin > end || end > num_rows_)
        throw Error(fmt::format("table row range [{}, {}) outside its {} rows", begin, end, num_rows_));
    Table out;
    for (const auto& c : columns_) out.columns_.push_back(c.slice(begin, end));
    out.num_rows_ = end - begin;
    return out;
}

Table Table::take(std::span<const std::uint64_t> rows) const {
    Table out;
    for (const auto& c : columns_) out.columns_.push_back(c.take(rows));
    out.num_rows_ = rows.size();
    return out;
}

}  // namespace dhs
